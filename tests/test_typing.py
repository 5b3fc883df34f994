"""Type checkers see actorium's types as docs/typing.md says (the files of tests/typing/).

``tests/typing/pass/*.py`` (and ``examples/*.py``) must check cleanly under ``mypy --strict``
with the plugin, and under pyright: the typing files in strict mode, the examples in
pyright's standard mode (strict mode asks the annotations of users' own code, which the
examples leave to inference). In ``tests/typing/fail/*.py`` every line
marked ``# E: <fragment>`` must get a mypy error containing the fragment, every line marked
``# E-pyright: <fragment>`` a pyright error containing it, and no other line an error. A file
whose first line is ``# checked by: mypy`` is not given to pyright (its subject, the methods
of handles, needs the mypy plugin). A file with a line ``# needs: actorium.<name>`` among its
first three is checked once actorium has that name (it types a feature of another branch) and
skipped until then. The ``python`` blocks of docs/typing.md are checked by mypy
like the fail files (a block without markers must be clean).

Each checker runs once over all the files (a fresh mypy cache in a temporary directory).
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
from collections import defaultdict

import pytest

# A checker's first run over these files (no cache) takes a minute or more on a loaded machine;
# it happens in the fixture of the first test, which the default timeout would cut short.
pytestmark = pytest.mark.timeout(900)

ROOT = pathlib.Path(__file__).resolve().parent.parent
TYPING = ROOT / "tests" / "typing"
PASS = sorted((TYPING / "pass").glob("*.py"))
FAIL = sorted((TYPING / "fail").glob("*.py"))
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
DOC = ROOT / "docs" / "typing.md"
MARKER = re.compile(r"# (E|E-pyright): (.*?)(?=\s+# E(?:-pyright)?: |$)")

# The files are checked with the project's own configuration (pyproject.toml: strict, the
# plugin), together with actorium itself, whose errors fail test_actorium_is_clean_under_mypy.
MYPY_CONFIG = ROOT / "pyproject.toml"

class Errors(defaultdict[tuple[str, int], list[str]]):
    """(file, line) -> the checker's messages there; ``doc_blocks``: docs/typing.md's code."""

    doc_blocks: list[pathlib.Path]


def _checked_by(path: pathlib.Path) -> set[str]:
    first = path.read_text().splitlines()[0]
    if first.startswith("# checked by:"):
        return {name.strip() for name in first.split(":", 1)[1].split(",")}
    return {"mypy", "pyright"}


def _missing(path: pathlib.Path) -> str | None:
    """The ``actorium.<name>`` a file needs and actorium does not have yet, if any."""
    import actorium

    for line in path.read_text().splitlines()[:3]:
        if line.startswith("# needs: actorium."):
            name = line.split("actorium.", 1)[1].split()[0]
            if not hasattr(actorium, name):
                return f"actorium.{name}"
    return None


def _skip_if_missing(path: pathlib.Path) -> None:
    missing = _missing(path)
    if missing is not None:
        pytest.skip(f"{path.name} types {missing}, which actorium does not have yet")


def _expected(path: pathlib.Path, checker: str) -> dict[int, str]:
    """Line number -> the fragment its marker expects in ``checker``'s message."""
    kind = "E" if checker == "mypy" else "E-pyright"
    found = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        for marker, fragment in MARKER.findall(line):
            if marker == kind:
                found[number] = fragment.strip()
    return found


@pytest.fixture(scope="module")
def mypy_errors(tmp_path_factory: pytest.TempPathFactory) -> Errors:
    pytest.importorskip("mypy", reason="mypy is in the test extra: pip install -e '.[test]'")
    work = tmp_path_factory.mktemp("mypy")
    files = [str(p) for p in (*PASS, *FAIL, *EXAMPLES)
             if "mypy" in _checked_by(p) and _missing(p) is None]
    files += [str(p) for p in _doc_blocks(work)]
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(MYPY_CONFIG), "--cache-dir",
         str(work / "cache"), "--no-pretty", "--no-color-output", "--hide-error-context",
         "--show-error-codes", str(ROOT / "actorium"), *files], cwd=ROOT, capture_output=True,
        text=True, timeout=600)
    errors = Errors(list)
    errors.doc_blocks = [pathlib.Path(f) for f in files if "doc_block_" in f]
    for line in done.stdout.splitlines():
        match = re.match(r"(.+?):(\d+): error: (.*)", line)
        if match:
            errors[(str(pathlib.Path(match[1]).resolve()), int(match[2]))].append(match[3])
    assert done.returncode in (0, 1) and (done.returncode == 0 or errors), \
        f"mypy failed to run:\n{done.stdout}\n{done.stderr}"
    return errors


def _doc_blocks(into: pathlib.Path) -> list[pathlib.Path]:
    """The ``python`` blocks of docs/typing.md, as files ``doc_block_<n>.py`` in ``into``
    (the same names every run, so a test can find them)."""
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    paths = []
    for number, block in enumerate(blocks, start=1):
        path = into / f"doc_block_{number}.py"
        path.write_text(block)
        paths.append(path)
    return paths


def _pyright() -> list[str]:
    """How to run pyright, or a skip (a failure in CI, where it must run: .ci/run installs
    Node.js and sets ACTORIUM_REQUIRE_PYRIGHT)."""
    reason = None
    if shutil.which("node") is None:
        reason = "pyright needs Node.js (node on PATH)"
    else:
        try:
            import pyright  # noqa: F401
        except ImportError:
            reason = "pyright is in the test extra: pip install -e '.[test]'"
    if reason is not None:
        if os.environ.get("CI") or os.environ.get("ACTORIUM_REQUIRE_PYRIGHT"):
            pytest.fail(f"{reason}; the pyright checks must run in CI")
        pytest.skip(reason)
    return [sys.executable, "-m", "pyright"]


@pytest.fixture(scope="module")
def pyright_errors(tmp_path_factory: pytest.TempPathFactory) -> Errors:
    command = _pyright()
    work = tmp_path_factory.mktemp("pyright")
    files = [str(p) for p in (*PASS, *FAIL, *EXAMPLES)
             if "pyright" in _checked_by(p) and _missing(p) is None]
    # Examples import each other (jobs.py runs cluster.py's helpers).
    # (pyright 1.1.414 ignores an absolute path in "strict"; relative to the config it holds.)
    config = {"extraPaths": [str(ROOT), str(ROOT / "examples")], "pythonVersion": "3.11",
              "typeCheckingMode": "standard", "strict": [os.path.relpath(TYPING, work)]}
    (work / "pyrightconfig.json").write_text(json.dumps(config))
    # The package's own node is used (PATH); never let the wrapper fetch one.
    env = {**os.environ, "PYRIGHT_PYTHON_GLOBAL_NODE": "1", "PYRIGHT_PYTHON_IGNORE_WARNINGS": "1"}
    done = subprocess.run([*command, "--outputjson", "-p", str(work / "pyrightconfig.json"),
                           "--pythonpath", sys.executable, *files], cwd=work, capture_output=True,
                          text=True, timeout=600, env=env)
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"pyright failed to run:\n{done.stdout}\n{done.stderr}")
    errors = Errors(list)
    for item in report["generalDiagnostics"]:
        if item["severity"] == "error":
            key = (str(pathlib.Path(item["file"]).resolve()), item["range"]["start"]["line"] + 1)
            errors[key].append(item["message"])
    assert report["summary"]["filesAnalyzed"] == len(files), report["summary"]
    return errors


def _in(errors: Errors, path: pathlib.Path) -> dict[int, list[str]]:
    name = str(path.resolve())
    return {line: messages for (file, line), messages in errors.items() if file == name}


def _check_clean(errors: Errors, path: pathlib.Path) -> None:
    found = _in(errors, path)
    assert not found, f"{path.name}: a correct program was refused: {found}"


def _check_marked(errors: Errors, path: pathlib.Path, checker: str) -> None:
    expected = _expected(path, checker)
    found = _in(errors, path)
    missed = {line: fragment for line, fragment in expected.items()
              if not any(fragment in message for message in found.get(line, []))}
    unexpected = {line: messages for line, messages in found.items() if line not in expected}
    assert not missed, f"{path.name}: not reported (line: expected fragment): {missed}; " \
                       f"reported there: { {n: found.get(n) for n in missed} }"
    assert not unexpected, f"{path.name}: unmarked lines reported: {unexpected}"


def _ids(paths: list[pathlib.Path]) -> list[str]:
    return [p.name for p in paths]


@pytest.mark.parametrize("path", [*PASS, *EXAMPLES], ids=_ids([*PASS, *EXAMPLES]))
def test_mypy_accepts_the_correct_programs(mypy_errors: Errors, path: pathlib.Path) -> None:
    _skip_if_missing(path)
    _check_clean(mypy_errors, path)


@pytest.mark.parametrize("path", FAIL, ids=_ids(FAIL))
def test_mypy_reports_every_marked_line_and_nothing_else(mypy_errors: Errors,
                                                         path: pathlib.Path) -> None:
    _skip_if_missing(path)
    assert _expected(path, "mypy"), f"{path.name} marks no line"
    _check_marked(mypy_errors, path, "mypy")


PYRIGHT_PASS = [p for p in (*PASS, *EXAMPLES) if "pyright" in _checked_by(p)]
PYRIGHT_FAIL = [p for p in FAIL if "pyright" in _checked_by(p)]


@pytest.mark.parametrize("path", PYRIGHT_PASS, ids=_ids(PYRIGHT_PASS))
def test_pyright_accepts_the_correct_programs(pyright_errors: Errors,
                                              path: pathlib.Path) -> None:
    _skip_if_missing(path)
    _check_clean(pyright_errors, path)


@pytest.mark.parametrize("path", PYRIGHT_FAIL, ids=_ids(PYRIGHT_FAIL))
def test_pyright_reports_every_marked_line_and_nothing_else(pyright_errors: Errors,
                                                            path: pathlib.Path) -> None:
    _skip_if_missing(path)
    assert _expected(path, "pyright"), f"{path.name} marks no line for pyright"
    _check_marked(pyright_errors, path, "pyright")


def test_actorium_is_clean_under_mypy_strict(mypy_errors: Errors) -> None:
    """The issue's promise and ``make typecheck``'s check, run by ``make test`` too (with the
    packages of the test venv; ``make typecheck`` also checks without the extras)."""
    package = str(ROOT / "actorium") + os.sep
    found = {key: messages for key, messages in mypy_errors.items() if key[0].startswith(package)}
    assert not found, f"mypy --strict reports actorium's own code: {found}"


def test_the_typing_guide_s_blocks_check_as_marked(mypy_errors: Errors) -> None:
    blocks = mypy_errors.doc_blocks
    assert len(blocks) >= 2
    for block in blocks:
        _check_marked(mypy_errors, block, "mypy")


def test_the_markers_are_read() -> None:
    line = 'f()  # E: Missing "x"  # E-pyright: Argument missing'
    assert MARKER.findall(line) == [("E", 'Missing "x"'), ("E-pyright", "Argument missing")]


def _errors_of(path: pathlib.Path, found: dict[int, list[str]]) -> Errors:
    errors = Errors(list)
    for line, messages in found.items():
        errors[(str(path.resolve()), line)] = messages
    return errors


def test_a_marked_line_the_checker_did_not_report_fails_the_check(
        tmp_path: pathlib.Path) -> None:
    path = tmp_path / "marked.py"
    path.write_text('x: int = "a"  # E: incompatible type\ny: int = 1  # E: incompatible\n')
    reported = {1: ['Incompatible types in assignment (expression has incompatible type "str")']}
    with pytest.raises(AssertionError, match=r"not reported .*\{2: 'incompatible'\}"):
        _check_marked(_errors_of(path, reported), path, "mypy")
    # A report of the line that does not contain the fragment is not a match either.
    with pytest.raises(AssertionError, match="not reported"):
        _check_marked(_errors_of(path, {1: ["Name 'x' is not defined"], **reported}), path,
                      "mypy")


def test_an_unmarked_line_the_checker_reported_fails_the_check(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "marked.py"
    path.write_text('x: int = "a"  # E: incompatible\nz = 1\n')
    errors = _errors_of(path, {1: ["incompatible type"], 2: ["something else"]})
    with pytest.raises(AssertionError, match=r"unmarked lines reported: \{2: "):
        _check_marked(errors, path, "mypy")
    with pytest.raises(AssertionError, match="a correct program was refused"):
        _check_clean(errors, path)


def test_a_pyright_marker_is_not_expected_of_mypy(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "marked.py"
    path.write_text("f(ref)  # E-pyright: not assignable\n")
    assert _expected(path, "mypy") == {}
    assert _expected(path, "pyright") == {1: "not assignable"}
    _check_marked(_errors_of(path, {}), path, "mypy")
    with pytest.raises(AssertionError, match="not reported"):
        _check_marked(_errors_of(path, {}), path, "pyright")


def test_a_file_needing_what_actorium_lacks_is_skipped_not_passed(
        tmp_path: pathlib.Path) -> None:
    path = tmp_path / "future.py"
    path.write_text("# checked by: mypy\n# needs: actorium.NoSuchThing (another branch)\n")
    assert _missing(path) == "actorium.NoSuchThing"
    with pytest.raises(pytest.skip.Exception, match="NoSuchThing"):
        _skip_if_missing(path)
    path.write_text("# checked by: mypy\n# needs: actorium.ObjectRef\n")
    assert _missing(path) is None


def _keys(typed_dict: type) -> set[str]:
    return set(typed_dict.__annotations__) | {
        key for base in typed_dict.__mro__ for key in getattr(base, "__annotations__", {})}


def test_the_typed_options_are_the_options_the_run_time_takes() -> None:
    """A checker refuses an option exactly when the run time does (``_core/options.py``): an
    option missing from the TypedDicts would be a false error, an extra one a type-checked
    call that raises. (``num_returns`` is a parameter of its own in the overloads.)"""
    import dataclasses

    from actorium._core import options, remote_types

    def fields(cls: type) -> set[str]:
        return {f.name for f in dataclasses.fields(cls)}

    task = fields(options.TaskOptions) - {"num_returns"}
    assert _keys(remote_types.TaskOptionsArgs) == task
    # .options() refuses max_calls (as Ray does), so its TypedDict lacks it.
    assert _keys(remote_types.TaskOverrideOptions) == task - {"max_calls"}
    with pytest.raises(ValueError, match="max_calls"):
        options.TaskOptions.override(options.TaskOptions(), max_calls=1)
    assert _keys(remote_types.ActorOptionsArgs) == fields(options.ActorOptions)
    method = fields(options.MethodOptions)
    assert _keys(remote_types.MethodDecoratorArgs) == method
    assert _keys(remote_types.MethodOptionsArgs) == method - {"num_returns"}
    # An option @remote takes for either kind is an option of both.
    assert _keys(remote_types.CommonOptions) <= task & fields(options.ActorOptions)
