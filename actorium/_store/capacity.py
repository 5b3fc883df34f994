"""The store's byte budget, shared by every process of a node through one small file.

``.usage`` in the store directory holds five little-endian u64: the capacity, the bytes of
live objects, the bytes of free segments kept in the pool for reuse (``pool.py``), the number
of those segments, and a *generation* that grows whenever a segment file is deleted (so that a
process keeping writable mappings knows when to look for mappings of deleted files).

Objects and pooled segments both hold memory, so both count: ``used + pooled <= capacity``
at all times. A writer reserves the size of an object before creating its file and the owner
gives it back after unlinking it (or moves it to ``pooled`` when the segment goes to the
pool), under ``flock`` (between processes) and a thread lock (``flock`` does not exclude
threads sharing one descriptor). A process that dies between two steps leaves the counts
wrong (too high); ``recount`` (run by the node when a worker dies) lowers them to the files.
"""

from __future__ import annotations

import fcntl
import os
import struct
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import NamedTuple

_FORMAT = struct.Struct("<QQQQQ")
_GENERATION_OFFSET = 32


class Usage(NamedTuple):
    """One consistent reading of the budget."""

    capacity: int
    used: int          # bytes of live objects in shared memory
    pooled: int        # bytes of free segments kept for reuse
    pool_files: int    # how many free segments
    generation: int    # grows with every deleted segment file


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
                self._write(Usage(limit, 0, 0, 0, 0))

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with self._lock:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)

    def _read(self) -> Usage:
        raw = os.pread(self._fd, _FORMAT.size, 0)
        if len(raw) < _FORMAT.size:  # the creator has not written it yet
            return Usage(0, 0, 0, 0, 0)
        return Usage(*(int(value) for value in _FORMAT.unpack(raw)))

    def _write(self, usage: Usage) -> None:
        os.pwrite(self._fd, _FORMAT.pack(*usage), 0)

    def usage(self) -> Usage:
        with self._locked():
            return self._read()

    def figures(self) -> tuple[int, int]:
        """(capacity, bytes of live objects)."""
        usage = self.usage()
        return usage.capacity, usage.used

    def generation(self) -> int:
        """The deletion generation, read without the lock (a torn read only costs a check)."""
        raw = os.pread(self._fd, 8, _GENERATION_OFFSET)
        return int.from_bytes(raw, "little") if len(raw) == 8 else 0

    def reserve(self, size: int) -> bool:
        """Take ``size`` bytes of the budget; False (and nothing taken) if they do not fit."""
        with self._locked():
            usage = self._read()
            if usage.used + usage.pooled + size > usage.capacity:
                return False
            self._write(usage._replace(used=usage.used + size))
            return True

    def release(self, size: int) -> None:
        """An object file of ``size`` bytes was deleted."""
        with self._locked():
            usage = self._read()
            self._write(usage._replace(used=max(usage.used - size, 0),
                                       generation=usage.generation + 1))

    def pool_in(self, size: int, max_bytes: int, max_files: int) -> bool:
        """Count an object's ``size`` bytes as pooled; False if the pool is full."""
        with self._locked():
            usage = self._read()
            if usage.pooled + size > max_bytes or usage.pool_files + 1 > max_files:
                return False
            self._write(usage._replace(used=max(usage.used - size, 0),
                                       pooled=usage.pooled + size,
                                       pool_files=usage.pool_files + 1))
            return True

    def pool_out(self, pooled_size: int, size: int) -> None:
        """A pooled segment of ``pooled_size`` bytes became an object of ``size`` bytes
        (``size <= pooled_size``: the file was shortened, never grown)."""
        with self._locked():
            usage = self._read()
            self._write(usage._replace(used=usage.used + size,
                                       pooled=max(usage.pooled - pooled_size, 0),
                                       pool_files=max(usage.pool_files - 1, 0)))

    def trimmed(self, size: int) -> None:
        """A pooled segment of ``size`` bytes was deleted."""
        with self._locked():
            usage = self._read()
            self._write(usage._replace(pooled=max(usage.pooled - size, 0),
                                       pool_files=max(usage.pool_files - 1, 0),
                                       generation=usage.generation + 1))

    def recount(self, count_files: Callable[[], tuple[int, int, int]]) -> None:
        """Lower the counts to what the files really add up to, if they are above it.

        ``count_files`` returns (used, pooled, pool files) from the directory; it runs under
        the lock, so no reservation or release of another process slips in between the
        reading of the files and the writing of the counts. The counts are only ever
        lowered: a process that died between two steps can only have left them too high,
        while a live process between unlinking a file and releasing its bytes would read as
        too low (and its release would then count twice).
        """
        with self._locked():
            usage = self._read()
            used, pooled, pool_files = count_files()
            self._write(Usage(usage.capacity, min(used, usage.used), min(pooled, usage.pooled),
                              min(pool_files, usage.pool_files), usage.generation + 1))

    def close(self) -> None:
        os.close(self._fd)
