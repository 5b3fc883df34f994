"""Session directories: one private directory per runtime process for its sockets and spill.

A session directory is named ``s<date>-<time>-<pid of its creator>-<random>`` under
``/tmp/actorium-<uid>/``. Its creator removes it (and the session's shared-memory store) when the
session ends. A creator that is killed (SIGKILL, OOM killer, a pulled plug) cannot, so every new
session first sweeps the directories whose creator is gone: otherwise such leftovers, and the
shared memory of their stores, pile up over the life of a machine.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time

from actorium._processes import pid_alive
from actorium._store.paths import remove_store

# A creator that died less than this long ago may have handed its directory to a node that is
# still shutting down (an embedded node outlives its driver by a moment): leave those alone.
STALE_AFTER_SECONDS = 600.0


def session_root() -> str:
    return os.path.join(tempfile.gettempdir(), f"actorium-{os.getuid()}")


def new_session_dir() -> str:
    """A private directory (mode 0700) for this runtime's sockets; short enough for ipc paths."""
    root = session_root()
    os.makedirs(root, mode=0o700, exist_ok=True)
    os.chmod(root, 0o700)
    sweep_stale_session_dirs(root)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return tempfile.mkdtemp(prefix=f"s{stamp}-{os.getpid()}-", dir=root)


def remove_session_dir(session_dir: str) -> None:
    """Remove a session's directory and its object store (the session is over)."""
    remove_store(session_dir)
    shutil.rmtree(session_dir, ignore_errors=True)


def creator_pid(name: str) -> int | None:
    """The pid in a session directory's name, None if the name is not one of ours."""
    parts = name.split("-")
    if len(parts) < 4 or not name.startswith("s") or not parts[2].isdigit():
        return None
    return int(parts[2])


def sweep_stale_session_dirs(root: str, *, now: float | None = None,
                             stale_after: float = STALE_AFTER_SECONDS) -> list[str]:
    """Remove the session directories under ``root`` whose creator process no longer runs and
    that were last changed more than ``stale_after`` s ago; returns the paths removed."""
    now = time.time() if now is None else now
    removed: list[str] = []
    try:
        names = os.listdir(root)
    except FileNotFoundError:
        return removed
    for name in names:
        pid = creator_pid(name)
        path = os.path.join(root, name)
        if pid is None or pid == os.getpid() or pid_alive(pid):
            continue
        try:
            if now - os.stat(path).st_mtime < stale_after:
                continue
        except FileNotFoundError:
            continue
        remove_session_dir(path)
        removed.append(path)
    return removed
