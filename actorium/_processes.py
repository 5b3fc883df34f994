"""Whether a process id still names a running process.

Several parts of the runtime outlive, watch or clean up after other processes (session
directories of dead drivers, jobs whose supervisor died, cluster daemons), and each needs the
same answer: is that pid still a live process? Kept in one place because the subtle cases are
easy to get wrong separately: a pid owned by another user is alive (``PermissionError``), and a
child that has exited but has not been reaped yet is a zombie, which ``os.kill(pid, 0)`` still
reports as present although it will never run again.
"""
from __future__ import annotations

import os


def pid_alive(pid: int) -> bool:
    """True if ``pid`` is a running process (a zombie counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True                  # another user's process has that pid: it runs
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            # The command name may hold spaces or ")": the state follows the last ")".
            return stat.read().rsplit(")", 1)[-1].split()[0] == "Z"
    except (OSError, IndexError):
        return False                 # no /proc (or the process just went): trust os.kill
