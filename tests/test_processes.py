"""pid_alive: the one answer the runtime uses to decide that a process it watches has gone
(stale session directories, orphaned jobs, cluster daemons)."""
from __future__ import annotations

import os
import subprocess
import sys

from actorium._processes import pid_alive


def test_own_process_is_alive() -> None:
    assert pid_alive(os.getpid())


def test_running_child_is_alive_and_reaped_child_is_not() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                             stdin=subprocess.PIPE)
    try:
        assert pid_alive(child.pid)
    finally:
        child.communicate(b"")
    assert child.returncode == 0
    assert not pid_alive(child.pid)


def test_exited_but_unreaped_child_counts_as_gone() -> None:
    """A zombie still answers os.kill(pid, 0); watchers must not wait on it forever."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        # Wait for the exit without reaping it, so that it stays a zombie.
        os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)
        os.kill(child.pid, 0)        # the pid is still taken...
        assert not pid_alive(child.pid)   # ...but the process is gone
    finally:
        child.wait()
