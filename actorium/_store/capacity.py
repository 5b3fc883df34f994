"""The store's byte budget, shared by every process of a node through one small file.

``.usage`` in the store directory holds two little-endian u64: the capacity and the bytes in
use. A writer reserves the size of an object before creating its file and the owner gives it
back after unlinking it, under ``flock`` (between processes) and a thread lock (``flock`` does
not exclude threads sharing one descriptor). A process that dies between the two leaves the
count too high; ``recount`` (run by the node when a worker dies) resets it from the files.
"""

from __future__ import annotations

import fcntl
import os
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_FORMAT = struct.Struct("<QQ")


def default_capacity(store_path: str) -> int:
    """30% of the machine's memory (Ray's default), bounded by the free space of the tmpfs."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    wanted = int(memory * 0.3)
    try:
        stats = os.statvfs(os.path.dirname(store_path))
        wanted = min(wanted, stats.f_bavail * stats.f_frsize)
    except OSError:
        pass
    return max(wanted, 1)


class Capacity:
    """Reserve and release bytes of the node-wide budget (any thread of any process)."""

    def __init__(self, path: str, capacity: int | None) -> None:
        """Open the usage file at ``path``; create it with ``capacity`` if it does not exist."""
        self._lock = threading.Lock()
        try:
            self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
            created = True
        except FileExistsError:
            self._fd = os.open(path, os.O_RDWR)
            created = False
        if created:
            limit = capacity if capacity is not None else default_capacity(path)
            with self._locked():
                os.pwrite(self._fd, _FORMAT.pack(limit, 0), 0)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with self._lock:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)

    def _read(self) -> tuple[int, int]:
        raw = os.pread(self._fd, _FORMAT.size, 0)
        if len(raw) < _FORMAT.size:  # the creator has not written it yet
            return 0, 0
        limit, used = _FORMAT.unpack(raw)
        return int(limit), int(used)

    def figures(self) -> tuple[int, int]:
        """(capacity, bytes in use)."""
        with self._locked():
            return self._read()

    def reserve(self, size: int) -> bool:
        """Take ``size`` bytes of the budget; False (and nothing taken) if they do not fit."""
        with self._locked():
            limit, used = self._read()
            if used + size > limit:
                return False
            os.pwrite(self._fd, _FORMAT.pack(limit, used + size), 0)
            return True

    def release(self, size: int) -> None:
        with self._locked():
            limit, used = self._read()
            os.pwrite(self._fd, _FORMAT.pack(limit, max(used - size, 0)), 0)

    def recount(self, used: int) -> None:
        """Set the bytes in use to what the files really add up to."""
        with self._locked():
            limit, _ = self._read()
            os.pwrite(self._fd, _FORMAT.pack(limit, used), 0)

    def close(self) -> None:
        os.close(self._fd)
