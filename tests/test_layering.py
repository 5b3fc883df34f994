"""The import rule written at the top of actorium/__init__.py holds: imports point downwards."""

from __future__ import annotations

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "actorium"

# A layer may import the layers listed for it (and itself), nothing above.
ALLOWED = {
    "_transport": {"_transport", "exceptions"},
    "_store": {"_store", "exceptions"},
    "_runtime_env": {"_runtime_env", "exceptions"},
    "_core": {"_core", "_store", "_transport", "_runtime_env", "exceptions"},
    "_virtual": {"_virtual", "_core", "_store", "_transport", "_runtime_env", "exceptions"},
    "_head": {"_head", "_virtual", "_core", "_store", "_transport", "_runtime_env",
              "exceptions"},
    "_supervision": {"_supervision", "_core", "_store", "_transport", "_runtime_env",
                     "exceptions"},
    "_observe": {"_observe", "_core", "_transport", "exceptions"},
    "_jobs": {"_jobs", "_runtime_env", "_transport", "exceptions"},
    "_node": {"_node", "_jobs", "_supervision", "_observe", "_head", "_virtual", "_core",
              "_store", "_transport", "_runtime_env", "exceptions"},
    "_cluster": {"_cluster", "_node", "_jobs", "_supervision", "_head", "_virtual", "_core",
                 "_store", "_transport", "_runtime_env", "exceptions"},
    "_cli": {"_cli", "_cluster", "_node", "_jobs", "_supervision", "_head", "_virtual",
             "_core", "_store", "_transport", "_runtime_env", "exceptions", "job_submission"},
}


def actorium_imports(path: pathlib.Path) -> set[str]:
    """The first component under ``actorium`` of every actorium module this file imports."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("actorium"):
            parts = node.module.split(".")
            if len(parts) > 1:
                found.add(parts[1])
            else:
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "actorium" and len(parts) > 1:
                    found.add(parts[1])
    return found


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_a_layer_imports_only_the_layers_below_it(layer):
    offenders = {}
    for path in sorted((PACKAGE / layer).rglob("*.py")):
        wrong = actorium_imports(path) - ALLOWED[layer]
        if wrong:
            offenders[path.name] = sorted(wrong)
    assert not offenders, f"{layer} imports from layers above it: {offenders}"


def test_the_exception_tree_imports_nothing_of_actorium():
    assert actorium_imports(PACKAGE / "exceptions.py") == set()
