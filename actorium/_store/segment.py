"""One stored object's bytes in one file, and the record that describes them.

A file holds the object's pickle stream followed by its out-of-band buffers, each buffer
starting on a 64-byte boundary (so numpy can use aligned loads). The writer fills the file with
``pwrite`` (a full tmpfs then fails with ``ENOSPC`` instead of killing the process with
``SIGBUS``, which a write through a mapping would do). Readers map it read-only: the views they
get are the shared memory itself, and numpy arrays rebuilt on them are read-only.

Unlinking a file that is still mapped is safe on Linux: the pages stay until the last mapping
goes, so a reader holding an array never sees its memory vanish. *Reusing* a file is only safe
when nobody maps it, and the kernel tells us that: every read-only mapping holds a shared
``flock`` on the file for as long as it exists (Python's ``mmap`` keeps a duplicate of the
descriptor it was made from, and the lock belongs to that open file, so it is dropped only
when the mapping is closed, which ``mmap.close()`` refuses while views of it are alive, or
when the process dies). ``nobody_maps`` asks for the exclusive lock without waiting.
"""

from __future__ import annotations

import fcntl
import mmap
import os
from collections.abc import Sequence
from typing import Any

from actorium._store.parallel_copy import PARALLEL_MIN, copy_in_two
from actorium.exceptions import ObjectLostError

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
    kept while the entry lives; the views handed out keep it alive after that. When the entry
    goes, the store tries to close it (``ObjectStore.free`` / ``let_go``).
    """

    __slots__ = ("name", "size", "data_len", "sizes", "spilled", "spill_copy", "mapping",
                 "owned", "home", "mapped_elsewhere", "whole")

    def __init__(self, name: str, size: int, data_len: int, sizes: list[int], *,
                 spilled: bool = False, owned: bool = False, home: str = "",
                 whole: int = 0) -> None:
        self.home = home                # the store directory: which node's memory it is in
        # Not 0: the object is one large value whose bytes are all of buffer 0 (the writer's
        # code for its type), so a reader may copy it out without mapping the file.
        self.whole = whole
        self.name = name
        self.size = size
        self.data_len = data_len
        self.sizes = sizes
        self.spilled = spilled          # the only copy is in the spill directory
        self.spill_copy = spilled       # a copy exists in the spill directory
        self.mapping: mmap.mmap | None = None
        self.owned = owned
        # Owner side: a borrower said it still maps the file after giving its ref back.
        self.mapped_elsewhere = False

    def wire(self) -> list[Any]:
        """The msgpack-able description sent to other processes of the node."""
        if self.whole:
            return [self.name, self.size, self.data_len, self.sizes, self.spilled, self.home,
                    self.whole]
        return [self.name, self.size, self.data_len, self.sizes, self.spilled, self.home]

    @classmethod
    def from_wire(cls, wire: list[Any]) -> StoredObject:
        name, size, data_len, sizes, spilled, home = wire[:6]
        return cls(name, size, data_len, list(sizes), spilled=spilled, home=home,
                   whole=wire[6] if len(wire) > 6 else 0)


def write(path: str, data: bytes | memoryview, buffers: Sequence[memoryview]) -> int:
    """Create ``path`` holding ``data`` and ``buffers`` laid out as ``layout`` says.

    Returns the file size. Raises OSError (ENOSPC when the tmpfs is full); the half-written
    file is removed then.
    """
    offsets, size = layout(len(data), [b.nbytes for b in buffers])
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.ftruncate(fd, size)  # sparse: pages are allocated by the writes below
        write_into(fd, data, buffers)
    except BaseException:
        os.close(fd)
        os.unlink(path)
        raise
    os.close(fd)
    return size


def write_into(fd: int, data: bytes | memoryview, buffers: Sequence[memoryview]) -> None:
    """``pwrite`` the stream and the buffers into the open file, laid out as ``layout`` says."""
    offsets, _ = layout(len(data), [b.nbytes for b in buffers])
    _write_at(fd, memoryview(data), 0)
    for offset, buffer in zip(offsets, buffers, strict=True):
        _write_at(fd, buffer, offset)


def _write_at(fd: int, view: memoryview, offset: int) -> None:
    view = view.cast("B") if view.format != "B" or view.ndim != 1 else view
    done = 0
    total = view.nbytes
    while done < total:
        done += os.pwrite(fd, view[done:done + _WRITE_CHUNK], offset + done)


def write_through(mapping: mmap.mmap, data: bytes | memoryview,
                  buffers: Sequence[memoryview]) -> None:
    """Copy ``data`` and ``buffers`` into a writable mapping, laid out as ``layout`` says.

    Only for a reused segment: its pages exist already (it was written in full before), so
    the copy cannot meet a full tmpfs (which would be SIGBUS through a mapping).
    """
    offsets, _ = layout(len(data), [b.nbytes for b in buffers])
    whole = memoryview(mapping)
    try:
        whole[:len(data)] = memoryview(data).cast("B")
        for offset, buffer in zip(offsets, buffers, strict=True):
            flat = buffer.cast("B") if buffer.format != "B" or buffer.ndim != 1 else buffer
            if flat.nbytes >= PARALLEL_MIN and copy_in_two(mapping, offset, flat):
                continue
            whole[offset:offset + flat.nbytes] = flat
    finally:
        whole.release()


def _open_locked(path: str) -> int:
    """Open ``path`` for reading with a shared lock (FileNotFoundError if it is gone). If the
    owner moved the file to the pool while we were opening it, it is gone for us as well."""
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(path))
        except FileNotFoundError:
            same = False
        if not same:
            raise FileNotFoundError(path)
    except BaseException:
        os.close(fd)
        raise
    return fd


def map_readonly(path: str, size: int, *, populate: bool = False) -> mmap.mmap:
    """Map the file at ``path`` read-only (FileNotFoundError if it is gone).

    The mapping holds a shared lock on the file while it exists (see ``nobody_maps``).
    ``populate``: set up every page now, in one call, for a reader that is about to read all
    of it (a page fault per 4 KiB page costs several times that on a VM).
    """
    fd = _open_locked(path)
    try:
        flags = mmap.MAP_SHARED | (mmap.MAP_POPULATE if populate else 0)
        return mmap.mmap(fd, size, flags=flags, prot=mmap.PROT_READ)
    finally:
        os.close(fd)


def copy_out(path: str, stored: StoredObject, index: int,
             kind: type[bytes] | type[bytearray]) -> bytes | bytearray:
    """A private copy of buffer ``index`` of the object in the file at ``path``, read with
    ``pread`` into a new ``bytes`` (or ``bytearray``): one copy, made by the kernel without the
    GIL, and no mapping (so no page faults on the shared memory, nothing to close after).

    The shared lock is held while reading, so the owner cannot reuse the file meanwhile.
    FileNotFoundError if the file is gone (spilled or freed since).
    """
    offset = layout(stored.data_len, stored.sizes)[0][index]
    size = stored.sizes[index]
    fd = _open_locked(path)
    try:
        if kind is bytes:
            value = os.pread(fd, size, offset)
            if len(value) == size:
                return value
        buffer = bytearray(size)  # a bytearray, or the rare short read of a bytes
        _read_into(fd, memoryview(buffer), offset, path)
        return buffer if kind is bytearray else bytes(buffer)
    finally:
        os.close(fd)


def _read_into(fd: int, view: memoryview, offset: int, path: str) -> None:
    done = 0
    total = view.nbytes
    while done < total:
        count = os.preadv(fd, [view[done:done + _WRITE_CHUNK]], offset + done)
        if count == 0:
            raise ObjectLostError(f"the object file {path} is shorter than its description "
                                  f"({offset + done} of {offset + total} bytes)")
        done += count


def nobody_maps(fd: int) -> bool:
    """Whether no process maps the file open at ``fd`` read-only (see ``map_readonly``).

    On True the caller holds the exclusive lock until it closes ``fd``: a reader that opened
    the file meanwhile waits for it, then finds that the file moved (and never maps it).
    """
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def views(mapping: mmap.mmap | bytes, stored: StoredObject) -> tuple[memoryview, list[memoryview]]:
    """The pickle stream and the buffers of ``stored``, as views of ``mapping`` (no copy)."""
    whole = memoryview(mapping)
    offsets, _ = layout(stored.data_len, stored.sizes)
    buffers = [whole[offset:offset + size] for offset, size in zip(offsets, stored.sizes,
                                                                     strict=True)]
    return whole[:stored.data_len], buffers
