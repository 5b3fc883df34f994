"""Fixtures shared by the test suite: runtimes, and the guard against leaked processes.

* ``runtime``: the shared runtime (``init(num_cpus=2)``), started once per test module and
  reused by the tests of that module; it is shut down when the module is done, so that tests
  of other modules (which may count the processes they start) never see it. If a test using
  it fails, it is restarted so that whatever the test left running (a long task, a stuck
  actor) cannot disturb the tests after it.
* ``start_runtime``: a factory for a test that needs a runtime of its own
  (``start_runtime(num_cpus=4)``); the shared one is stopped first and started again lazily by
  the next test that asks for it. The test's runtime is shut down even if the test fails.
* After every ``shutdown()`` done by these fixtures, and at the end of the session, the guard
  checks that no process started by the test process is left (children, and orphans found by
  an environment marker every descendant inherits) and that no session directory created by
  this process remains under ``/tmp/actorium-<uid>/``. Leftovers are killed / removed so that a
  failing test does not leave anything behind, then reported as a failure.
"""

from __future__ import annotations

import gc
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psutil
import pytest
import zmq

import actorium

# Every process this test run starts inherits this marker, so that orphaned descendants (a
# worker whose node already exited is re-parented away from us) can still be found.
LEAK_MARKER = "ACTORIUM_TEST_SUITE_RUN"
os.environ[LEAK_MARKER] = uuid.uuid4().hex

SHARED_NUM_CPUS = 2
EXIT_GRACE_SECONDS = 5.0


# ---------------------------------------------------------------------- the leak guard
def session_root() -> str:
    return os.path.join(tempfile.gettempdir(), f"actorium-{os.getuid()}")


def our_session_dirs() -> set[str]:
    """Session directories created by this process (their names carry the driver's pid),
    and the object stores of those sessions in /dev/shm."""
    tag = f"-{os.getpid()}-"
    found = set()
    root = session_root()
    try:
        names = os.listdir(root)
    except FileNotFoundError:
        names = []
    found |= {os.path.join(root, n) for n in names if n.startswith("s") and tag in n}
    store_prefix = f"actorium-{os.getuid()}-s"
    try:
        stores = os.listdir("/dev/shm")
    except FileNotFoundError:
        stores = []
    found |= {os.path.join("/dev/shm", n) for n in stores
              if n.startswith(store_prefix) and tag in n}
    return found


def _is_ours(process: psutil.Process) -> bool:
    try:
        return process.environ().get(LEAK_MARKER) == os.environ[LEAK_MARKER]
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess, OSError):
        return False


def live_descendants() -> list[psutil.Process]:
    """Processes started (directly or not) by the test process that are still running."""
    me = os.getpid()
    found: dict[int, psutil.Process] = {}
    try:
        for child in psutil.Process(me).children(recursive=True):
            found[child.pid] = child
    except psutil.NoSuchProcess:
        pass
    for process in psutil.process_iter():
        if process.pid != me and process.pid not in found and _is_ours(process):
            found[process.pid] = process
    alive = []
    for process in found.values():
        try:
            if process.status() != psutil.STATUS_ZOMBIE:
                alive.append(process)
        except psutil.NoSuchProcess:
            continue
    return alive


def describe(processes: list[psutil.Process]) -> str:
    lines = []
    for process in processes:
        try:
            lines.append(f"  pid {process.pid}: {' '.join(process.cmdline())}")
        except psutil.Error:
            lines.append(f"  pid {process.pid}")
    return "\n".join(lines)


def assert_nothing_left(grace: float = EXIT_GRACE_SECONDS, *, report: bool = True) -> None:
    """Wait up to ``grace`` s for our processes to exit and our session dirs to go.

    Whatever is left is killed / removed (so nothing outlives the test), then reported unless
    ``report`` is false (a test marked xfail for a known bug: the leftovers are its symptom).
    """
    deadline = time.monotonic() + grace
    while True:
        processes = live_descendants()
        dirs = our_session_dirs()
        if (not processes and not dirs) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    for process in processes:
        try:
            process.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(processes, timeout=5)
    _reap_popen_objects({p.pid for p in processes})
    for directory in dirs:
        shutil.rmtree(directory, ignore_errors=True)
    problems = []
    if processes:
        problems.append(f"{len(processes)} process(es) still running {grace} s after "
                        f"shutdown():\n{describe(processes)}")
    if dirs:
        problems.append(f"session director(y/ies) left behind: {sorted(dirs)}")
    assert not (problems and report), "\n".join(problems)


def _reap_popen_objects(pids: set[int]) -> None:
    """Wait on the Popen objects of processes we killed, so that their garbage collection in
    some later test does not raise "subprocess N is still running" (warnings are errors)."""
    if not pids:
        return
    for obj in gc.get_objects():
        if isinstance(obj, subprocess.Popen) and obj.pid in pids and obj.returncode is None:
            try:
                obj.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass


def run_script(source: str, timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
    """Run ``source`` with this Python in a process of its own; returns its outcome.

    For behaviours that can wreck the process that shows them (a hang, a crashing shutdown):
    the damage stays in the child, which is killed (with everything it started) on timeout.
    """
    process = subprocess.Popen([sys.executable, "-c", source], cwd=os.path.dirname(__file__),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        stderr += f"\n[run_script: killed after {timeout} s]"
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def shutdown_and_check(*, report: bool = True) -> None:
    """``actorium.shutdown()``, then the leak guard (which runs even if shutdown raised)."""
    try:
        actorium.shutdown()
    except Exception:
        if report:
            raise
    finally:
        assert_nothing_left(report=report)


# ---------------------------------------------------------------------- runtimes
class SharedRuntime:
    """The runtime most tests share; (re)started on demand."""

    def __init__(self) -> None:
        self.running = False

    def ensure(self) -> None:
        if self.running and actorium.is_initialized():
            return
        if actorium.is_initialized():  # someone else's runtime: not ours to reuse
            shutdown_and_check()
        actorium.init(num_cpus=SHARED_NUM_CPUS)
        self.running = True

    def stop(self, *, report: bool = True) -> None:
        was_running, self.running = self.running, False
        if was_running or actorium.is_initialized():
            shutdown_and_check(report=report)


_shared = SharedRuntime()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def _failed(request: pytest.FixtureRequest) -> bool:
    """True unless the test's call passed (an xfailed test counts as failed: it hit a bug)."""
    report = getattr(request.node, "report_call", None)
    return report is None or not report.passed or _xfailed(request)


def _xfailed(request: pytest.FixtureRequest) -> bool:
    report = getattr(request.node, "report_call", None)
    return report is not None and hasattr(report, "wasxfail")


@pytest.fixture
def ctx() -> Iterator[zmq.Context[Any]]:
    """A ZeroMQ context of the test's own, destroyed without lingering afterwards."""
    context: zmq.Context[Any] = zmq.Context()
    yield context
    context.destroy(linger=0)


@pytest.fixture(scope="session", autouse=True)
def _leak_guard_at_session_end() -> Iterator[None]:
    yield
    _shared.stop()
    assert_nothing_left()


@pytest.fixture(scope="module", autouse=True)
def _shared_runtime_lives_one_module() -> Iterator[None]:
    yield
    _shared.stop()


@pytest.fixture
def runtime(request: pytest.FixtureRequest) -> Iterator[Any]:
    """The shared runtime (``num_cpus=2``); yields the ``actorium`` module."""
    _shared.ensure()
    yield actorium
    if _failed(request) or not actorium.is_initialized():
        # Whatever the failed test left running must not leak into the next test.
        _shared.stop(report=not _xfailed(request))


@pytest.fixture
def start_runtime(request: pytest.FixtureRequest) -> Iterator[Callable[..., Any]]:
    """Factory: ``start_runtime(num_cpus=4, ...)`` starts a runtime of this test's own.

    It is shut down (and checked for leftovers) after the test, pass or fail.
    """
    started = []

    def start(**init_options: Any) -> Any:
        _shared.stop()
        if actorium.is_initialized():
            shutdown_and_check()
        init_options.setdefault("num_cpus", SHARED_NUM_CPUS)
        info = actorium.init(**init_options)
        started.append(info)
        return info

    yield start
    if started or actorium.is_initialized():
        shutdown_and_check(report=not _xfailed(request))


@pytest.fixture
def no_runtime() -> Iterator[None]:
    """A test that needs no runtime running at all (before init / after shutdown)."""
    _shared.stop()
    yield
    if actorium.is_initialized():
        shutdown_and_check()


@pytest.fixture(name="run_script")
def run_script_fixture() -> Callable[..., subprocess.CompletedProcess[str]]:
    """``run_script(source, timeout)``: run Python source in a child process (see above)."""
    return run_script
