"""The suite's own guard: leftover processes and session directories are caught and cleaned."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

import psutil
import pytest
from conftest import assert_nothing_left, our_session_dirs, session_root


def test_the_guard_reports_and_kills_a_leftover_process(no_runtime):
    leftover = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    with pytest.raises(AssertionError, match="still running"):
        assert_nothing_left(grace=0.2)
    assert leftover.wait(timeout=5) is not None
    assert not psutil.pid_exists(leftover.pid) or \
        psutil.Process(leftover.pid).status() == psutil.STATUS_ZOMBIE


def test_the_guard_finds_an_orphaned_grandchild_by_its_marker(no_runtime):
    # The child starts a grandchild and exits: the grandchild is no longer our descendant.
    code = ("import subprocess, sys; "
            "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'], "
            "stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); "
            "print(p.pid)")
    grandchild_pid = int(subprocess.run([sys.executable, "-c", code], capture_output=True,
                                        text=True, check=True).stdout)
    assert grandchild_pid not in {p.pid for p in psutil.Process().children(recursive=True)}
    with pytest.raises(AssertionError, match="still running"):
        assert_nothing_left(grace=0.2)
    try:
        gone, _ = psutil.wait_procs([psutil.Process(grandchild_pid)], timeout=5)
        assert gone, "the orphan was not killed"
    except psutil.NoSuchProcess:
        pass  # already reaped


def test_the_guard_reports_and_removes_a_leftover_session_directory(no_runtime):
    os.makedirs(session_root(), exist_ok=True)
    leftover = tempfile.mkdtemp(prefix=f"s00000000-000000-{os.getpid()}-", dir=session_root())
    assert leftover in our_session_dirs()
    with pytest.raises(AssertionError, match="session director"):
        assert_nothing_left(grace=0.2)
    assert not os.path.exists(leftover)


def test_shutdown_stops_every_process_it_started_and_removes_its_session(start_runtime):
    import actorium

    info = start_runtime(num_cpus=2)

    @actorium.remote
    def pid():
        return os.getpid()

    workers = set(actorium.get([pid.remote() for _ in range(4)], timeout=30))
    started = [psutil.Process(p) for p in workers] + psutil.Process().children(recursive=True)
    assert started
    actorium.shutdown()
    gone, alive = psutil.wait_procs(started, timeout=5)
    assert not [p for p in alive if p.status() != psutil.STATUS_ZOMBIE]
    assert not os.path.exists(info["session_dir"])
