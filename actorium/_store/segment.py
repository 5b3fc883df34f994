"""One stored object's bytes in one file, and the record that describes them.

A file holds the object's pickle stream followed by its out-of-band buffers, each buffer
starting on a 64-byte boundary (so numpy can use aligned loads). The writer fills the file with
``pwrite`` (a full tmpfs then fails with ``ENOSPC`` instead of killing the process with
``SIGBUS``, which a write through a mapping would do). Readers map it read-only: the views they
get are the shared memory itself, and numpy arrays rebuilt on them are read-only.

Unlinking a file that is still mapped is safe on Linux: the pages stay until the last mapping
goes, so a reader holding an array never sees its memory vanish.
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Sequence
from typing import Any

ALIGN = 64
_WRITE_CHUNK = 1 << 30  # write() moves at most ~2 GiB per call


def _aligned(offset: int) -> int:
    return (offset + ALIGN - 1) // ALIGN * ALIGN


def layout(data_len: int, sizes: Sequence[int]) -> tuple[list[int], int]:
    """(offset of every buffer, total file size) for a stream and buffers of these sizes."""
    offsets = []
    end = data_len
    for size in sizes:
        start = _aligned(end)
        offsets.append(start)
        end = start + size
    return offsets, end


class StoredObject:
    """Where one object's serialized form lives: its file, its layout, and whether spilled.

    ``mapping`` is this process's read-only map of the file, opened on the first read and
    kept while the entry lives; the views handed out keep it alive after that.
    """

    __slots__ = ("name", "size", "data_len", "sizes", "spilled", "spill_copy", "mapping",
                 "owned", "home")

    def __init__(self, name: str, size: int, data_len: int, sizes: list[int], *,
                 spilled: bool = False, owned: bool = False, home: str = "") -> None:
        self.home = home                # the store directory: which node's memory it is in
        self.name = name
        self.size = size
        self.data_len = data_len
        self.sizes = sizes
        self.spilled = spilled          # the only copy is in the spill directory
        self.spill_copy = spilled       # a copy exists in the spill directory
        self.mapping: mmap.mmap | None = None
        self.owned = owned

    def wire(self) -> list[Any]:
        """The msgpack-able description sent to other processes of the node."""
        return [self.name, self.size, self.data_len, self.sizes, self.spilled, self.home]

    @classmethod
    def from_wire(cls, wire: list[Any]) -> StoredObject:
        name, size, data_len, sizes, spilled, home = wire
        return cls(name, size, data_len, list(sizes), spilled=spilled, home=home)


def write(path: str, data: bytes | memoryview, buffers: Sequence[memoryview]) -> int:
    """Create ``path`` holding ``data`` and ``buffers`` laid out as ``layout`` says.

    Returns the file size. Raises OSError (ENOSPC when the tmpfs is full); the half-written
    file is removed then.
    """
    offsets, size = layout(len(data), [b.nbytes for b in buffers])
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.ftruncate(fd, size)  # sparse: pages are allocated by the writes below
        _write_at(fd, memoryview(data), 0)
        for offset, buffer in zip(offsets, buffers, strict=True):
            _write_at(fd, buffer, offset)
    except BaseException:
        os.close(fd)
        os.unlink(path)
        raise
    os.close(fd)
    return size


def _write_at(fd: int, view: memoryview, offset: int) -> None:
    view = view.cast("B") if view.format != "B" or view.ndim != 1 else view
    done = 0
    total = view.nbytes
    while done < total:
        done += os.pwrite(fd, view[done:done + _WRITE_CHUNK], offset + done)


def map_readonly(path: str, size: int) -> mmap.mmap:
    """Map the file at ``path`` read-only (FileNotFoundError if it is gone)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        return mmap.mmap(fd, size, prot=mmap.PROT_READ)
    finally:
        os.close(fd)


def views(mapping: mmap.mmap | bytes, stored: StoredObject) -> tuple[memoryview, list[memoryview]]:
    """The pickle stream and the buffers of ``stored``, as views of ``mapping`` (no copy)."""
    whole = memoryview(mapping)
    offsets, _ = layout(stored.data_len, stored.sizes)
    buffers = [whole[offset:offset + size] for offset, size in zip(offsets, stored.sizes,
                                                                     strict=True)]
    return whole[:stored.data_len], buffers
