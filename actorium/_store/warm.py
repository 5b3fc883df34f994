"""Writable mappings of reused segments, kept by the process that wrote into them.

Copying into a segment through a mapping that already exists runs at ``memcpy`` speed;
setting the mapping up costs a page-table entry per page (``MAP_POPULATE`` does it in one
call, still about as long as the copy). A process that writes objects of similar sizes
again and again takes back the same pooled segments (``pool.take`` prefers them), so it keeps
their writable mappings, keyed by inode, for the next time.

Such a mapping is never handed out: it is written only while this process holds the segment
(taken from the pool, not yet published). It does keep the pages of a deleted file alive,
so mappings of deleted files are dropped whenever the store's deletion generation moves, and
the cache is bounded (``MAX_MAPPINGS``, and a byte bound: the pool's share of the budget).
"""

from __future__ import annotations

import mmap
import os
import threading
from collections import OrderedDict

MAX_MAPPINGS = 32


class WarmMapping:
    """A writable mapping of one segment, with our own descriptor of it (``fstat`` tells
    whether the file still exists)."""

    __slots__ = ("fd", "inode", "mapping")

    def __init__(self, fd: int, inode: int, mapping: mmap.mmap) -> None:
        self.fd = fd
        self.inode = inode
        self.mapping = mapping

    def close(self) -> None:
        self.mapping.close()
        os.close(self.fd)


class WarmMappings:
    """Inode -> writable mapping of a segment this process wrote (thread-safe)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._held: OrderedDict[int, WarmMapping] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._generation = -1

    def inodes(self) -> frozenset[int]:
        with self._lock:
            return frozenset(self._held)

    def checkout(self, fd: int, size: int) -> WarmMapping:
        """A writable mapping of at least ``size`` bytes of the file open at ``fd``, which
        this process holds (taken from the pool). Takes ownership of ``fd``; give the result
        back with ``checkin`` after writing (or ``close`` it)."""
        stat = os.fstat(fd)
        with self._lock:
            held = self._held.pop(stat.st_ino, None)
            if held is not None:
                self._bytes -= len(held.mapping)
        if held is not None:
            mine = os.fstat(held.fd)
            if mine.st_nlink > 0 and os.path.samestat(mine, stat) and len(held.mapping) >= size:
                os.close(fd)
                return held
            held.close()
        try:
            mapping = mmap.mmap(fd, size, flags=mmap.MAP_SHARED | mmap.MAP_POPULATE,
                                prot=mmap.PROT_READ | mmap.PROT_WRITE)
        except BaseException:
            os.close(fd)
            raise
        return WarmMapping(fd, stat.st_ino, mapping)

    def checkin(self, held: WarmMapping) -> None:
        """Done writing: keep the mapping for the next write into the same segment."""
        evicted: list[WarmMapping] = []
        with self._lock:
            self._held[held.inode] = held
            self._bytes += len(held.mapping)
            while len(self._held) > MAX_MAPPINGS or (self._bytes > self.max_bytes
                                                     and len(self._held) > 1):
                _, old = self._held.popitem(last=False)
                self._bytes -= len(old.mapping)
                evicted.append(old)
        for old in evicted:
            old.close()

    def drop_deleted(self, generation: int) -> None:
        """Close mappings of files deleted since the last call (``generation`` moved)."""
        if generation == self._generation:
            return
        self._generation = generation
        gone: list[WarmMapping] = []
        with self._lock:
            for inode, held in list(self._held.items()):
                if os.fstat(held.fd).st_nlink == 0:
                    del self._held[inode]
                    self._bytes -= len(held.mapping)
                    gone.append(held)
        for held in gone:
            held.close()

    def close(self) -> None:
        with self._lock:
            held, self._held = list(self._held.values()), OrderedDict()
            self._bytes = 0
        for one in held:
            one.close()
