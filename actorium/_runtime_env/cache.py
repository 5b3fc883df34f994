"""The per-machine cache of runtime environments: unpacked packages and built virtualenvs.

Layout, under ``ACTORIUM_RUNTIME_ENV_DIR`` (default ``/tmp/actorium-<uid>/runtime_env``):

    pkgs/<hash>/        an unpacked working_dir or py_modules package
    pip/<hash>/         a virtualenv built with pip for one requirement list
    uv/<hash>/          a virtualenv built with uv
    <kind>/<hash>.size  its size in bytes, measured once it was complete
    <kind>/<hash>.use   lock file: held shared by every node process using the entry
    <kind>/<hash>.build lock file: held exclusively while one process builds the entry

Several node processes of one machine (a local cluster) share the cache. An entry is used
under a shared ``flock`` of its ``.use`` file, so a cleaner (which needs the lock exclusively,
without waiting) can never remove what some process still runs from; a process that dies
drops its locks with it. Unused entries stay, for the next job that wants the same
environment, until the cache outgrows ``ACTORIUM_RUNTIME_ENV_CACHE_MB`` (default 10240):
then the least recently used unused entries are removed.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile

KINDS = ("pkgs", "pip", "uv")


def cache_root() -> str:
    root = os.environ.get("ACTORIUM_RUNTIME_ENV_DIR") or os.path.join(
        tempfile.gettempdir(), f"actorium-{os.getuid()}", "runtime_env")
    for kind in KINDS:
        os.makedirs(os.path.join(root, kind), mode=0o700, exist_ok=True)
    return root


def budget_bytes() -> int:
    return int(float(os.environ.get("ACTORIUM_RUNTIME_ENV_CACHE_MB", "10240")) * 1024 * 1024)


class UseLock:
    """A shared hold on one cache entry (released by ``close``, or by the process's death)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_SH)   # blocks only while a cleaner removes it
        os.utime(self._fd)                      # "last used", for the cleaner's order

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def take_build_lock(path: str) -> int:
    """Hold the build lock of an entry until the returned fd is closed (blocking: call from a
    thread, never a loop)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
    except BaseException:
        os.close(fd)
        raise
    return fd


def record_size(directory: str) -> int:
    """Measure an entry once, when it is complete, and remember the figure beside it."""
    total = 0
    for folder, _dirs, files in os.walk(directory):
        for name in files:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except OSError:
                continue
    with open(f"{directory}.size", "w") as file:
        file.write(str(total))
    return total


def _size_of(directory: str) -> int:
    try:
        with open(f"{directory}.size") as file:
            return int(file.read())
    except (OSError, ValueError):
        return 0


def entries(root: str) -> list[tuple[float, int, str, str]]:
    """Every complete entry: (last used, size, lock path, directory)."""
    found = []
    for kind in KINDS:
        folder = os.path.join(root, kind)
        try:
            names = os.listdir(folder)
        except FileNotFoundError:
            continue
        for name in names:
            directory = os.path.join(folder, name)
            if "." in name or not os.path.isdir(directory):
                continue
            lock = f"{directory}.use"
            try:
                used = os.path.getmtime(lock)
            except OSError:
                used = os.path.getmtime(directory)
            found.append((used, _size_of(directory), lock, directory))
    return found


def clean(root: str, budget: int, keep: set[str]) -> list[str]:
    """Remove least recently used entries nobody holds until the cache fits ``budget``.

    ``keep`` names directories this process uses (never removed). Returns what was removed.
    Blocking (file system work): call from a thread.
    """
    found = sorted(entries(root))
    total = sum(size for _used, size, _lock, _dir in found)
    removed = []
    for _used, size, lock, directory in found:
        if total <= budget:
            break
        if directory in keep:
            continue
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue   # another node process runs from it
            shutil.rmtree(directory, ignore_errors=True)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{directory}.size")
            removed.append(directory)
            total -= size
        finally:
            os.close(fd)
    return removed
