"""A killed runtime process cannot remove its session directory; the next session does."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

from actorium._node.session_dirs import creator_pid, sweep_stale_session_dirs
from actorium._store.paths import store_dir


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def make_session(root, name: str, age: float) -> str:
    path = os.path.join(root, name)
    os.makedirs(os.path.join(path, "spill"))
    stamp = time.time() - age
    os.utime(path, (stamp, stamp))
    return path


def test_only_old_directories_of_gone_creators_are_swept_with_their_store(tmp_path):
    gone = dead_pid()
    stale = make_session(tmp_path, f"s20261203-103341-{gone}-abc", age=3600)
    recent = make_session(tmp_path, f"s20261203-103342-{gone}-def", age=5)
    alive = make_session(tmp_path, f"s20261203-103343-{os.getppid()}-ghi", age=3600)
    other = make_session(tmp_path, "runtime_env", age=3600)
    store = store_dir(stale)
    os.makedirs(store, exist_ok=True)
    try:
        removed = sweep_stale_session_dirs(str(tmp_path))
        assert removed == [stale]
        assert not os.path.exists(stale) and not os.path.exists(store)
        assert all(os.path.isdir(p) for p in (recent, alive, other))
    finally:
        shutil.rmtree(store, ignore_errors=True)


def test_names_that_are_not_session_directories_are_left_alone():
    assert creator_pid("s20261203-103341-26825-qtfp00rb") == 26825
    assert creator_pid("nodes") is None
    assert creator_pid("runtime_env") is None
    assert creator_pid("s2026-x-y") is None
