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


def _git(git_dir: Path, *args: str) -> str:
    import subprocess
    return subprocess.run(["git", "-C", str(git_dir), "-c", "user.name=t", "-c",
                           "user.email=t@t", *args], check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.mark.timeout(120)
def test_programs_are_read_from_a_local_git_mirror_and_checked(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    import hashlib

    # A repository of our own with a program at the doc path; its commit is the pin.
    repo = tmp_path / "repo"
    (repo / ray_docs_compat.DOC_DIR).mkdir(parents=True)
    text = b"import ray\nprint(ray.get(ray.put(41)) + 1)\n"
    (repo / ray_docs_compat.DOC_DIR / "mine.py").write_bytes(text)
    _git(tmp_path, "init", "-q", str(repo))
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "one program")
    commit = _git(repo, "rev-parse", "HEAD")
    (repo / ray_docs_compat.DOC_DIR / "mine.py").write_bytes(b"changed after the pin\n")
    _git(repo, "commit", "-q", "-am", "a later change the pin must not see")
    cache = tmp_path / "cache"
    monkeypatch.setattr(ray_docs_compat, "PROGRAM_CACHE", cache)
    git_dir = ray_docs_compat.check_mirror(str(repo / ".git"))

    pinned = Program("mine.py", "tasks", commit, hashlib.sha256(text).hexdigest())
    path = ray_docs_compat.fetch(pinned, git_dir)
    assert path == cache / "mine.py" and path.read_bytes() == text
    outcome = ray_docs_compat.run(pinned, path, "actorium", sys.executable)
    assert outcome["status"] == "pass", outcome["stderr_tail"]

    # A checksum that differs is refused and nothing is cached.
    (cache / "mine.py").unlink()
    wrong = Program("mine.py", "tasks", commit, "0" * 64)
    assert ray_docs_compat.fetch(wrong, git_dir) is None
    assert not (cache / "mine.py").exists()
    assert "checksum" in capsys.readouterr().err

    # A commit the mirror lacks, and a file its commit lacks, are named.
    absent = Program("mine.py", "tasks", "1" * 40, pinned.sha256)
    assert ray_docs_compat.fetch(absent, git_dir) is None
    assert f"the mirror lacks commit {'1' * 40}" in capsys.readouterr().err
    missing = Program("gone.py", "tasks", commit, pinned.sha256)
    assert ray_docs_compat.fetch(missing, git_dir) is None
    assert f"the mirror has commit {commit} but not" in capsys.readouterr().err
    assert not (cache / "gone.py").exists()


def test_a_mirror_that_is_not_a_git_repository_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        ray_docs_compat.main(["--ray-python", sys.executable, "--mirror", str(tmp_path),
                              "--fetch-only"])
    assert f"{tmp_path} is not a git repository" in capsys.readouterr().err


# ------------------------------------------------------------------- cancelling actor calls
# Exposed by actors.py (Ray's "Cancelling actor tasks"). Ray 2.60's behaviour, checked side
# by side: a running async call that is cancelled fails with an error that is both a
# RayTaskError and a TaskCancelledError, even when the method catches the CancelledError and
# returns; a call cancelled before it runs fails with a plain TaskCancelledError; a running
# sync call is never interrupted: it can poll is_canceled(), and fails with
# TaskCancelledError once it returns.
import asyncio  # noqa: E402
import time  # noqa: E402

import actorium as ray  # noqa: E402


@ray.remote
class AsyncWorker:
    def __init__(self) -> None:
        self.saw_cancel = False
        self.started = asyncio.Event()

    async def wait_started(self) -> None:
        await self.started.wait()

    async def sleeps(self) -> str:
        self.started.set()
        await asyncio.sleep(60)
        return "slept"

    async def catches(self) -> str:
        self.started.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            self.saw_cancel = True
        return "returned after the cancel"

    def saw(self) -> bool:
        return self.saw_cancel


@pytest.mark.timeout(120)
@pytest.mark.parametrize("method", ["sleeps", "catches"])
def test_a_running_async_actor_call_cancelled_is_a_task_error_and_cancelled(
        runtime: object, method: str) -> None:
    worker = AsyncWorker.remote()
    ref = getattr(worker, method).remote()
    ray.get(worker.wait_started.remote(), timeout=60)
    ray.cancel(ref)
    with pytest.raises(ray.exceptions.RayTaskError) as caught:
        ray.get(ref, timeout=60)
    assert isinstance(caught.value, ray.exceptions.TaskCancelledError)
    assert ray.get(worker.saw.remote(), timeout=60) is (method == "catches")


@ray.remote
class Busy:
    def __init__(self) -> None:
        self.flags: list[bool] = []
        self.finished: list[str] = []

    def polls(self, seconds: float) -> str:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if ray.get_runtime_context().is_canceled():
                self.flags.append(True)
                return "canceled"
            time.sleep(0.01)
        self.flags.append(False)
        return "completed"

    def ignores(self, seconds: float) -> str:
        time.sleep(seconds)  # an interruption would stop it here
        self.finished.append("ignores")
        return "completed"

    def state(self) -> tuple[list[bool], list[str]]:
        return self.flags, self.finished


@pytest.mark.timeout(120)
def test_a_running_sync_actor_call_is_marked_not_interrupted(runtime: object) -> None:
    busy = Busy.options(max_concurrency=2).remote()
    ray.get(busy.state.remote(), timeout=60)
    polling = busy.polls.remote(30)
    ignoring = busy.ignores.remote(3)
    time.sleep(1.5)  # both are running (max_concurrency=2)
    ray.cancel(polling)
    ray.cancel(ignoring)
    for ref in (polling, ignoring):
        with pytest.raises(ray.exceptions.TaskCancelledError):
            ray.get(ref, timeout=60)
    flags, finished = ray.get(busy.state.remote(), timeout=60)
    assert flags == [True]           # polls() saw is_canceled() and stopped early
    assert finished == ["ignores"]   # ignores() was not interrupted: it ran to its end


@pytest.mark.timeout(120)
def test_a_call_cancelled_before_it_runs_is_only_cancelled(runtime: object) -> None:
    busy = Busy.remote()
    first = busy.ignores.remote(3)
    queued = busy.ignores.remote(0)
    time.sleep(0.5)
    ray.cancel(queued)
    with pytest.raises(ray.exceptions.TaskCancelledError) as caught:
        ray.get(queued, timeout=60)
    assert not isinstance(caught.value, ray.exceptions.RayTaskError)
    assert ray.get(first, timeout=60) == "completed"
    assert ray.get(busy.state.remote(), timeout=60)[1] == ["ignores"]


def test_is_canceled_outside_a_task_says_where_it_works(runtime: object) -> None:
    with pytest.raises(RuntimeError, match="inside a task or an actor method"):
        ray.get_runtime_context().is_canceled()


# ------------------------------------------------------------------- cancelling a blocked task
# Exposed by tasks.py ("Cancelling tasks"): it cancels a task inside time.sleep(10e6), then
# gets it. Ray interrupts the sleep; an exception thrown into a thread waits for the C call to
# return, so the node ends the worker of a cancelled task that has not stopped in a moment.
@ray.remote
def blocking_operation() -> None:
    time.sleep(10e6)


@ray.remote
def answer() -> int:
    return 42


@pytest.mark.timeout(120)
def test_cancelling_a_task_blocked_in_c_fails_it_soon(runtime: object) -> None:
    ref = blocking_operation.remote()
    time.sleep(1)  # running
    ray.cancel(ref)
    started = time.monotonic()
    with pytest.raises(ray.exceptions.TaskCancelledError):
        ray.get(ref, timeout=60)
    assert time.monotonic() - started < 30
    assert ray.get(answer.remote(), timeout=60) == 42  # the pool goes on


# ------------------------------------------------------------------- ray._raylet
# Exposed by streaming_generator.py: ``from ray._raylet import ObjectRefGenerator``, then
# ``isinstance(r, ObjectRefGenerator)`` over what ray.wait returns, to tell a stream from a ref.
@ray.remote
def two_items():  # type: ignore[no-untyped-def]
    yield 1
    yield 2


@pytest.mark.timeout(120)
def test_raylet_path_names_the_types_a_stream_and_a_ref_have(runtime: object) -> None:
    from actorium._raylet import (
        ObjectID,
        ObjectRef,
        ObjectRefGenerator,
        StreamingObjectRefGenerator,
    )

    stream, ref = two_items.remote(), answer.remote()
    ready, _ = ray.wait([stream, ref], num_returns=2, timeout=60)
    assert {isinstance(r, ObjectRefGenerator) for r in ready} == {True, False}
    assert isinstance(ref, ObjectRef) and ObjectID is ObjectRef
    assert StreamingObjectRefGenerator is ObjectRefGenerator is ray.ObjectRefGenerator
    assert [ray.get(item, timeout=60) for item in stream] == [1, 2]


def test_raylet_ids_say_ids_are_hex_strings() -> None:
    import actorium._raylet as raylet

    with pytest.raises(AttributeError, match="ids are hex strings.*get_actor_id"):
        raylet.ActorID  # noqa: B018
    with pytest.raises(AttributeError, match="has no attribute 'NoSuch'"):
        raylet.NoSuch  # noqa: B018
