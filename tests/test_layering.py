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
    "_faults": {"_faults", "_transport", "exceptions"},
    "_core": {"_core", "_faults", "_store", "_transport", "_runtime_env", "exceptions"},
    "_sim": {"_sim", "_core", "_faults", "_transport", "exceptions"},
    "_virtual": {"_virtual", "_faults", "_core", "_store", "_transport", "_runtime_env",
                 "exceptions"},
    "_twins": {"_twins", "_faults", "_virtual", "_core", "_store", "_transport",
               "_runtime_env", "exceptions"},
    "_head": {"_head", "_faults", "_virtual", "_core", "_store", "_transport", "_runtime_env",
              "exceptions"},
    "_supervision": {"_supervision", "_faults", "_core", "_store", "_transport", "_runtime_env",
                     "exceptions"},
    "_observe": {"_observe", "_core", "_transport", "exceptions"},
    "_jobs": {"_jobs", "_runtime_env", "_transport", "_processes", "exceptions"},
    "_node": {"_node", "_faults", "_jobs", "_supervision", "_observe", "_head", "_virtual",
              "_core", "_store", "_transport", "_runtime_env", "_processes", "exceptions"},
    "_cluster": {"_cluster", "_faults", "_node", "_jobs", "_supervision", "_head", "_virtual",
                 "_core", "_store", "_transport", "_runtime_env", "_processes", "exceptions"},
    "_cli": {"_cli", "_faults", "_cluster", "_node", "_jobs", "_supervision", "_head", "_virtual",
             "_observe", "_core", "_store", "_transport", "_runtime_env", "exceptions",
             "job_submission"},
}


BIND_METHODS = ("bind", "_bind_node")


def _outside_bind_methods(tree: ast.AST) -> list[ast.AST]:
    """Every node of ``tree`` except those inside the core's ``bind()`` hand-offs to dag/."""
    skipped = set()
    for function in ast.walk(tree):
        if isinstance(function, ast.FunctionDef) and function.name in BIND_METHODS:
            skipped |= {id(node) for node in ast.walk(function)}
    return [node for node in ast.walk(tree) if id(node) not in skipped]


def actorium_imports(path: pathlib.Path, *, skip_bind: bool = False) -> set[str]:
    """The first component under ``actorium`` of every actorium module this file imports."""
    found = set()
    tree = ast.parse(path.read_text())
    for node in (_outside_bind_methods(tree) if skip_bind else ast.walk(tree)):
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
        wrong = actorium_imports(path, skip_bind=(layer == "_core")) - ALLOWED[layer]
        if wrong:
            offenders[path.name] = sorted(wrong)
    assert not offenders, f"{layer} imports from layers above it: {offenders}"


# The libraries over the public API may use the facade's functions and the core's public
# classes; the core reaches up to dag/ only from its bind() methods, lazily.
LIBRARIES = {"dag", "experimental"}
LOWER = {"_api", "_core", "_observe", "_transport", "exceptions", "util", "dag", "experimental"}


@pytest.mark.parametrize("library", sorted(LIBRARIES))
def test_the_libraries_build_on_the_public_api(library):
    offenders = {}
    for path in sorted((PACKAGE / library).rglob("*.py")):
        wrong = actorium_imports(path) - LOWER
        if wrong:
            offenders[path.name] = sorted(wrong)
    assert not offenders, f"{library} reaches into {offenders}"


# actorium.testing builds on the public API plus the fault plan (_faults) it hands down.
TESTING_MAY_IMPORT = {"testing", "_api", "_core", "_faults", "_sim", "exceptions", "util"}


def test_the_testing_package_builds_on_the_public_api_and_the_fault_plan():
    offenders = {}
    for path in sorted((PACKAGE / "testing").rglob("*.py")):
        wrong = actorium_imports(path) - TESTING_MAY_IMPORT
        if wrong:
            offenders[path.name] = sorted(wrong)
    assert not offenders, f"testing reaches into {offenders}"


def test_the_core_reaches_up_to_the_dag_only_from_bind_methods():
    for path in sorted((PACKAGE / "_core").rglob("*.py")):
        tree = ast.parse(path.read_text())
        for function in ast.walk(tree):
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                        "actorium.dag"):
                    assert function.name in BIND_METHODS, (path.name, function.name)


def test_the_exception_tree_imports_nothing_of_actorium():
    assert actorium_imports(PACKAGE / "exceptions.py") == set()


def test_the_process_probe_imports_nothing_of_actorium():
    # It sits below every layer that watches processes (_jobs among them, under the core).
    assert actorium_imports(PACKAGE / "_processes.py") == set()


def test_the_mypy_plugin_imports_nothing_of_actorium():
    # mypy imports it in its own process: importing actorium there would be a cost and a cycle.
    assert actorium_imports(PACKAGE / "mypy_plugin.py") == set()
    assert "mypy_plugin" not in (PACKAGE / "__init__.py").read_text().split('"""')[2]
