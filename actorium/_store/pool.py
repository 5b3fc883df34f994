"""Free segments kept for reuse, node-wide: a freed object's file with its pages still there.

A new file on tmpfs gets fresh pages from the kernel, which zeroes each one before we copy
into it; writing into pages that already belong to a file is about twice as fast, and
writing through a mapping that is already set up (``warm.py``) is as fast as ``memcpy``. So
the owner of a freed object moves its file into ``<store>/.pool`` instead of deleting it,
when (and only when) no process maps it any more (``segment.nobody_maps``): a reader that
kept an array after dropping its ref would otherwise see another object's bytes. Any process
of the node then takes a segment that fits a new object by renaming it (``rename`` is atomic:
of two processes taking the same segment, one wins, the other tries the next).

A pooled segment is named ``<size>.<inode>``: its size for the fit, its inode so that a
process finds again the segments it still has mapped for writing. Pooled bytes count against
the budget (``capacity.py``); the pool holds at most half of it and ``MAX_FILES`` segments
(a freed segment that does not fit any more displaces segments of other sizes), and a write
that does not fit the budget deletes pooled segments before it spills anything.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Container

from actorium._store import paths, segment
from actorium._store.capacity import Capacity

MAX_FILES = 256
RELIST_AFTER = 0.01  # seconds: how stale the hints of a process may get on misses
POOL_SHARE = 0.5  # at most this part of the budget is held by free segments


def fits(pooled_size: int, size: int) -> bool:
    """A segment is shortened to the object's size; it must not waste more than half."""
    return size <= pooled_size <= 2 * size


def parse(name: str) -> tuple[int, int] | None:
    """(size, inode) of a pooled segment's name; None for anything else."""
    size, _, inode = name.partition(".")
    if not (size.isdigit() and inode.isdigit()):
        return None
    return int(size), int(inode)


class SegmentPool:
    """One process's handle on the node's pool of free segments (thread-safe).

    Listing the pool for every write would cost more than the copy it saves for objects of a
    few MiB, so each process keeps what it last saw (and what it put there itself) as hints:
    size -> names. A hint may be stale (another process took the segment: the rename fails
    and the next one is tried); the directory is listed again only when no hint fits.
    """

    def __init__(self, store_dir: str, capacity: Capacity) -> None:
        self.dir = paths.pool_dir(store_dir)
        os.makedirs(self.dir, mode=0o700, exist_ok=True)
        self.capacity = capacity
        self._max_bytes: int | None = None
        self._hints: dict[int, list[tuple[str, int]]] = {}  # size -> (name, inode)
        self._listed_at = 0.0
        self._lock = threading.Lock()

    @property
    def max_bytes(self) -> int:
        if self._max_bytes is None:  # the budget never changes during a session
            self._max_bytes = int(self.capacity.usage().capacity * POOL_SHARE)
        return self._max_bytes

    def give(self, path: str, size: int) -> bool:
        """Move the freed object file at ``path`` into the pool if no process maps it.

        False: it stays where it is (mapped somewhere, the pool is full, or it is gone) and
        the caller deletes it as before.
        """
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return False
        try:
            if not segment.nobody_maps(fd):
                return False
            if not self.capacity.pool_in(size, self.max_bytes, MAX_FILES):
                self._make_way(size)
                if not self.capacity.pool_in(size, self.max_bytes, MAX_FILES):
                    return False
            inode = os.fstat(fd).st_ino
            name = f"{size}.{inode}"
            try:
                os.rename(path, os.path.join(self.dir, name))
            except OSError:
                self.capacity.pool_out(size, size)  # count it as the object it still is
                return False
        finally:
            os.close(fd)  # drops the exclusive lock
        with self._lock:
            self._hints.setdefault(size, []).append((name, inode))
        return True

    def take(self, size: int, path: str, preferred: Container[int] = ()) -> int | None:
        """Rename a pooled segment that fits ``size`` to ``path``, shortened to ``size``.

        Segments whose inode is in ``preferred`` (mapped for writing here) come first, then
        the smallest that fits. Returns a descriptor open for writing, or None.
        """
        for fresh in (False, True):
            if fresh:
                # Listing a pool of hundreds of segments on every miss would cost more than
                # the misses; segments other processes freed are found a little later.
                if time.monotonic() - self._listed_at < RELIST_AFTER or not self._relist():
                    return None
            while (found := self._best_hint(size, preferred)) is not None:
                pooled_size, name = found
                try:
                    os.rename(os.path.join(self.dir, name), path)
                except FileNotFoundError:
                    continue  # another process took it first
                self.capacity.pool_out(pooled_size, size)
                fd = os.open(path, os.O_RDWR)
                if pooled_size != size:
                    os.ftruncate(fd, size)
                return fd
        return None

    def _best_hint(self, size: int, preferred: Container[int]) -> tuple[int, str] | None:
        """Remove and return the best hint for ``size``: a preferred one of the exact size,
        else the smallest size that fits."""
        with self._lock:
            sizes = [size] if size in self._hints else sorted(
                pooled for pooled in self._hints if fits(pooled, size))
            for pooled_size in sizes:
                names = self._hints[pooled_size]
                pick = len(names) - 1
                for index in range(len(names) - 1, -1, -1):
                    if names[index][1] in preferred:
                        pick = index
                        break
                name = names.pop(pick)[0]
                if not names:
                    del self._hints[pooled_size]
                return pooled_size, name
        return None

    def _relist(self) -> bool:
        """Replace the hints with the directory's contents; False if it holds nothing."""
        try:
            names = os.listdir(self.dir)
        except FileNotFoundError:
            names = []
        hints: dict[int, list[tuple[str, int]]] = {}
        for name in names:
            parsed = parse(name)
            if parsed is not None:
                hints.setdefault(parsed[0], []).append((name, parsed[1]))
        with self._lock:
            self._hints = hints
            self._listed_at = time.monotonic()
        return bool(hints)

    def _make_way(self, size: int) -> None:
        """The pool is full: delete segments of other sizes (the smallest first, or the
        largest first when bytes are short) so that one of ``size`` bytes fits."""
        usage = self.capacity.usage()
        files_short = usage.pool_files + 1 - MAX_FILES
        bytes_short = usage.pooled + size - self.max_bytes
        self._relist()
        with self._lock:
            others = sorted(((pooled, name) for pooled, names in self._hints.items()
                             if pooled != size for name, _inode in names),
                            reverse=bytes_short > 0)
        for pooled, name in others:
            if files_short <= 0 and bytes_short <= 0:
                break
            try:
                os.unlink(os.path.join(self.dir, name))
            except FileNotFoundError:
                continue
            self.capacity.trimmed(pooled)
            files_short -= 1
            bytes_short -= pooled
        self._relist()

    def trim(self, needed: int) -> int:
        """Delete pooled segments, largest first, until ``needed`` bytes are given back;
        returns the bytes given back."""
        self._relist()
        with self._lock:
            pooled = sorted(((size, name) for size, names in self._hints.items()
                             for name, _inode in names), reverse=True)
        freed = 0
        for size, name in pooled:
            if freed >= needed:
                break
            try:
                os.unlink(os.path.join(self.dir, name))
            except FileNotFoundError:
                continue
            self.capacity.trimmed(size)
            freed += size
        self._relist()
        return freed
