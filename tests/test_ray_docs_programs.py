"""What Ray's own Ray Core documentation programs rely on, in our own words.

``make ray-docs-compat`` runs Ray's doc programs themselves (they are Ray's code, fetched,
never committed). This file holds (1) the tests of that harness: a program runs unchanged
(``import ray`` is actorium), a module we lack fails as it would for a user, and the figure
counts only what runs on Ray; (2) tests, written from Ray's documented behaviour, of the
semantics a doc program exposed when it failed on actorium.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from benchmarks import ray_docs_compat
from benchmarks.ray_docs_programs import CORE_GUIDES, PROGRAMS, Program


# ------------------------------------------------------------------------------ harness
def _program(tmp_path: Path, name: str, source: str, timeout: float = 120.0
             ) -> tuple[Program, Path]:
    path = tmp_path / name
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    return Program(name, "tasks", "0" * 40, "0" * 64, timeout=timeout), path


@pytest.mark.timeout(180)
def test_a_program_runs_unchanged_with_ray_imports_meaning_actorium(tmp_path: Path) -> None:
    program, path = _program(tmp_path, "uses_ray.py", """\
        import ray
        import ray.exceptions
        from ray.util import ActorPool
        from ray.util.placement_group import placement_group
        import actorium

        assert ray is actorium and ray.exceptions is actorium.exceptions
        assert ActorPool is actorium.util.ActorPool

        @ray.remote
        def double(x):
            import ray  # inside the worker too
            assert ray.__name__ == "actorium"
            return 2 * x

        assert ray.get(double.remote(21)) == 42
        """)
    outcome = ray_docs_compat.run(program, path, "actorium", sys.executable)
    assert outcome["status"] == "pass", outcome["stderr_tail"]
    assert outcome["leftover_processes"] == 0


@pytest.mark.timeout(60)
def test_a_ray_module_actorium_lacks_fails_as_for_a_user(tmp_path: Path) -> None:
    program, path = _program(tmp_path, "private.py", "import ray._private.internal_api\n")
    outcome = ray_docs_compat.run(program, path, "actorium", sys.executable)
    assert outcome["status"] == "fail"
    assert outcome["error"] == "ModuleNotFoundError: No module named 'ray._private'"


@pytest.mark.timeout(60)
def test_a_program_that_hangs_is_a_timeout_and_leaves_nothing(tmp_path: Path) -> None:
    program, path = _program(tmp_path, "hangs.py", """\
        import subprocess, sys, time
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        time.sleep(600)
        """, timeout=3)
    outcome = ray_docs_compat.run(program, path, "actorium", sys.executable)
    assert outcome["status"] == "timeout"
    assert outcome["leftover_processes"] == 2  # the program and the child it started


def test_the_figure_counts_only_programs_that_run_on_ray() -> None:
    core = [p for p in PROGRAMS if p.guide in CORE_GUIDES][:4]
    a, b, c, d = core
    results = {
        f"ray:{a.name}": {"status": "pass"}, f"actorium:{a.name}": {"status": "pass"},
        f"ray:{b.name}": {"status": "pass"}, f"actorium:{b.name}": {"status": "fail"},
        f"ray:{c.name}": {"status": "fail"}, f"actorium:{c.name}": {"status": "pass"},
        f"ray:{d.name}": {"status": "timeout"}, f"actorium:{d.name}": {"status": "fail"},
    }
    summary = ray_docs_compat.summarize(results, core)["core"]
    assert (summary["run_on_ray"], summary["run_on_both"], summary["ratio"]) == (2, 1, 0.5)
    assert summary["fail_on_actorium"] == [b.name]
    assert summary["only_on_actorium"] == [c.name]


def test_the_manifest_pins_every_program() -> None:
    names = [p.name for p in PROGRAMS]
    assert len(names) == len(set(names))
    for program in PROGRAMS:
        assert len(program.commit) == 40 and len(program.sha256) == 64, program.name
        assert program.url.endswith(f"/{program.commit}/doc/source/ray-core/doc_code/"
                                    f"{program.name}")
