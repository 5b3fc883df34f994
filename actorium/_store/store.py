"""A process's handle on the node's object store: write, read, spill, restore, free.

Who does what (the owner-decides rule): any process may *write* an object file (``put`` in the
owner itself, or a worker writing the result of a task for its caller under the caller's
tag); only the owner *frees* it (unlinks the file, gives back its bytes) when its last
reference is gone, and only the owner spills and restores it. Borrowers just map files.

A borrower may find the file gone from shared memory because the owner spilled it meanwhile;
it then reads the spilled copy (same name, spill directory). Reading a spilled object in the
owner moves it back into shared memory if the budget allows, else reads it into private memory.

Freed files are reused (``pool.py``) when no process maps them any more: a borrower closes its
mapping when it gives its ref back and says in the release whether it could (a view of the
object is still alive there if not); the owner then moves the file to the pool only if no
borrower said so, its own mapping closes, and the kernel confirms that nobody maps it.
"""

from __future__ import annotations

import itertools
import os
import shutil
import threading
from collections.abc import Callable, Sequence

from actorium._store import paths, segment
from actorium._store.capacity import Capacity
from actorium._store.pool import SegmentPool, parse
from actorium._store.segment import StoredObject
from actorium._store.warm import WarmMappings
from actorium.exceptions import ObjectLostError, OutOfMemoryError

# Segments from this size up are written through a writable mapping kept for the next time
# (``warm.py``); smaller ones with ``pwrite`` into their existing pages.
WARM_MIN = 4 * 2**20

# Called with the bytes needed; frees what it can (by spilling) and returns the bytes freed.
MakeRoom = Callable[[int], int]


def _mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"


class ObjectStore:
    """One process's view of the session's store (thread-safe)."""

    def __init__(self, session_dir: str, tag: str, *, capacity: int | None = None) -> None:
        self.dir = paths.store_dir(session_dir)
        self.spill_dir = paths.spill_dir(session_dir)
        self.tag = tag
        os.makedirs(self.dir, mode=0o700, exist_ok=True)
        self.capacity = Capacity(os.path.join(self.dir, paths.USAGE_FILE), capacity)
        self.pool = SegmentPool(self.dir, self.capacity)
        self.warm = WarmMappings(self.pool.max_bytes)
        # Moves of one object between memory and disk, and its freeing, happen under this.
        self.lock = threading.Lock()
        self._temporaries = itertools.count()

    def path(self, name: str) -> str:
        return os.path.join(self.dir, name)

    def spill_path(self, name: str) -> str:
        return os.path.join(self.spill_dir, name)

    # ------------------------------------------------------------------ writing
    def write(self, name: str | None, data: bytes | memoryview, buffers: Sequence[memoryview],
              make_room: MakeRoom | None = None,
              settle: Callable[[], bool] | None = None) -> StoredObject:
        """Store one serialized value under ``name`` (a temporary name if None).

        Raises OutOfMemoryError with the figures when it does not fit even after
        ``make_room`` spilled what it could; nothing is left behind then. ``settle`` applies
        this process's pending ref releases (True if there were any) before a large object
        gets fresh memory.
        """
        sizes = [buffer.nbytes for buffer in buffers]
        _, size = segment.layout(len(data), sizes)
        if name is None:
            name = f"{self.tag}.tmp.{os.getpid()}-{next(self._temporaries)}"
        path = self.path(name)
        self.warm.drop_deleted(self.capacity.generation())
        fd = self.pool.take(size, path, self.warm.inodes())
        if fd is None and size >= WARM_MIN and settle is not None and settle():
            # Refs dropped a moment ago may free a segment that fits: worth a short wait
            # for a large object, whose fresh pages would cost far more.
            fd = self.pool.take(size, path, self.warm.inodes())
        if fd is not None:
            self._write_reused(fd, path, size, data, buffers)
        else:
            self._reserve(size, make_room)
            try:
                segment.write(path, data, buffers)
            except OSError as exc:
                self.capacity.release(size)
                raise OutOfMemoryError(
                    f"could not write an object of {_mib(size)} to the object store at "
                    f"{self.dir}: {exc}") from exc
        return StoredObject(name, size, len(data), sizes, owned=True, home=self.dir)

    def _write_reused(self, fd: int, path: str, size: int, data: bytes | memoryview,
                      buffers: Sequence[memoryview]) -> None:
        """Copy into a segment taken from the pool: through a kept mapping if it is large
        (``WARM_MIN``), else with ``pwrite`` (a mapping costs more than it saves)."""
        if size < WARM_MIN:
            try:
                segment.write_into(fd, data, buffers)
            except BaseException:
                self._discard(path, size)
                raise
            finally:
                os.close(fd)
            return
        try:
            held = self.warm.checkout(fd, size)
        except BaseException:
            self._discard(path, size)
            raise
        try:
            segment.write_through(held.mapping, data, buffers)
        except BaseException:
            held.close()
            self._discard(path, size)
            raise
        self.warm.checkin(held)

    def _discard(self, path: str, size: int) -> None:
        _unlink(path)
        self.capacity.release(size)

    def _reserve_if_possible(self, size: int) -> bool:
        """Take ``size`` bytes of free budget, deleting pooled segments if that makes room."""
        if self.capacity.reserve(size):
            return True
        usage = self.capacity.usage()
        if usage.pool_files == 0 or usage.used + size > usage.capacity:
            return False
        self.pool.trim(usage.used + usage.pooled + size - usage.capacity)
        return self.capacity.reserve(size)

    def _reserve(self, size: int, make_room: MakeRoom | None) -> None:
        """Take ``size`` bytes of the budget: first from free memory, then by deleting pooled
        segments, then by spilling (``make_room``); OutOfMemoryError if even that fails."""
        if self._reserve_if_possible(size):
            return
        freed = make_room(size) if make_room is not None else 0
        if not self.capacity.reserve(size):
            limit, used = self.capacity.figures()
            raise OutOfMemoryError(
                f"the object store is full: an object of {_mib(size)} does not fit "
                f"({_mib(used)} of {_mib(limit)} in use, {_mib(freed)} could be spilled; "
                f"objects in use cannot be). Drop references you no longer need, or pass "
                f"a larger object_store_memory to init()")

    def rename(self, temporary: str, name: str) -> None:
        """Give a temporary file its final name (the owner's tag and the object id)."""
        os.rename(self.path(temporary), self.path(name))

    # ------------------------------------------------------------------ reading
    def read(self, stored: StoredObject, *,
             populate: bool = False) -> tuple[memoryview, list[memoryview]]:
        """The stream and buffers of ``stored`` as read-only views (no copy when in memory).

        ``populate``: the caller is about to read every byte (see ``segment.map_readonly``).
        """
        if stored.mapping is None and stored.spilled and stored.owned:
            self.restore(stored)
        with self.lock:  # spill() must not close the mapping between these lines
            if stored.mapping is None and not stored.spilled:
                try:
                    stored.mapping = segment.map_readonly(self.path(stored.name), stored.size,
                                                          populate=populate)
                except FileNotFoundError:
                    pass  # spilled (or freed) by its owner since we heard of it
            if stored.mapping is not None:
                return segment.views(stored.mapping, stored)
        try:
            with open(self.spill_path(stored.name), "rb") as file:
                copy = file.read()
        except FileNotFoundError:
            raise ObjectLostError(f"object {stored.name} is no longer in the object store "
                                  f"(its owner freed it)") from None
        return segment.views(copy, stored)

    def copy_out(self, stored: StoredObject,
                 kind: type[bytes] | type[bytearray]) -> bytes | bytearray | None:
        """A private copy of buffer 0 of ``stored`` as ``kind``, read from the file without
        mapping it (``segment.copy_out``). None when that is not the cheap way: it is mapped
        here already, or not in shared memory (spilled); ``read`` then handles it."""
        if stored.mapping is not None or stored.spilled or not stored.sizes:
            return None
        try:
            return segment.copy_out(self.path(stored.name), stored, 0, kind)
        except FileNotFoundError:
            return None  # spilled (or freed) by its owner since we heard of it

    # ------------------------------------------------------------------ spill and restore
    def spill(self, stored: StoredObject) -> bool:
        """Move an object this process owns to disk; False if it is in use here."""
        with self.lock:
            if stored.spilled:
                return False
            if stored.mapping is not None:
                try:
                    stored.mapping.close()  # refuses while a view (an array) is alive
                except BufferError:
                    return False
                stored.mapping = None
            if not stored.spill_copy:
                os.makedirs(self.spill_dir, mode=0o700, exist_ok=True)
                shutil.copyfile(self.path(stored.name), self.spill_path(stored.name))
                stored.spill_copy = True
            _unlink(self.path(stored.name))
            stored.spilled = True
        self.capacity.release(stored.size)
        return True

    def restore(self, stored: StoredObject) -> None:
        """Bring a spilled object back into memory if it fits (else reads go to disk)."""
        with self.lock:
            if not stored.spilled or not self._reserve_if_possible(stored.size):
                return
            try:
                shutil.copyfile(self.spill_path(stored.name), self.path(stored.name))
                stored.mapping = segment.map_readonly(self.path(stored.name), stored.size)
            except OSError:
                _unlink(self.path(stored.name))
                self.capacity.release(stored.size)
                return
            stored.spilled = False

    # ------------------------------------------------------------------ freeing
    def free(self, stored: StoredObject) -> None:
        """The owner's last reference is gone: delete the object, or keep its file for reuse
        if no process maps it any more (readers that do keep their pages)."""
        with self.lock:
            if stored.spill_copy:
                _unlink(self.spill_path(stored.name))
            in_memory = not stored.spilled
            stored.spilled = True
            stored.spill_copy = False
            reusable = in_memory and not stored.mapped_elsewhere
            mapping, stored.mapping = stored.mapping, None
            if mapping is not None:
                try:
                    mapping.close()
                except BufferError:
                    reusable = False  # an array of it is still alive in this process
        if not in_memory:
            return
        if not (reusable and self.pool.give(self.path(stored.name), stored.size)):
            self._discard(self.path(stored.name), stored.size)

    def let_go(self, stored: StoredObject) -> bool:
        """A borrower's ref to ``stored`` is gone: close our mapping of it. False if a view
        of it is still alive here (its owner must then never reuse the file)."""
        with self.lock:
            stored.spilled = True  # never map it again through this description
            stored.spill_copy = False
            mapping = stored.mapping
            if mapping is None:
                return True
            try:
                mapping.close()
            except BufferError:
                return False
            stored.mapping = None
            return True

    def figures(self) -> tuple[int, int]:
        """(capacity, bytes in shared memory) for the whole node."""
        return self.capacity.figures()

    def close(self) -> None:
        self.warm.close()
        self.capacity.close()


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def create_store(session_dir: str, capacity: int | None) -> None:
    """Create the session's store with its budget (``None``: the default); the driver does
    this before any process can write to it."""
    directory = paths.store_dir(session_dir)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    Capacity(os.path.join(directory, paths.USAGE_FILE), capacity).close()


def sweep_owner(session_dir: str, tag: str) -> None:
    """Delete the files of a dead process (objects it owned, temporaries it was writing),
    then recount the budget from the files left. Run by the node when a worker dies."""
    store = paths.store_dir(session_dir)
    prefix = f"{tag}."
    for directory in (store, paths.spill_dir(session_dir)):
        try:
            names = os.listdir(directory)
        except FileNotFoundError:
            continue
        for name in names:
            if name.startswith(prefix):
                _unlink(os.path.join(directory, name))
    usage = os.path.join(store, paths.USAGE_FILE)
    if not os.path.exists(usage):
        return
    def count_files() -> tuple[int, int, int]:
        pooled = _sizes(paths.pool_dir(store))
        return (sum(_sizes(store).values()), sum(pooled.values()),
                sum(1 for name in pooled if parse(name) is not None))

    capacity = Capacity(usage, None)
    try:
        capacity.recount(count_files)
    finally:
        capacity.close()


def _sizes(directory: str) -> dict[str, int]:
    """Name -> size of the segment files in ``directory`` (not the usage file, not folders)."""
    found: dict[str, int] = {}
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return found
    for entry in entries:
        if entry.name == paths.USAGE_FILE:
            continue
        try:
            if entry.is_file(follow_symlinks=False):
                found[entry.name] = entry.stat().st_size
        except FileNotFoundError:
            continue
    return found
