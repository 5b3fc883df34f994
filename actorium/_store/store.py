"""A process's handle on the node's object store: write, read, spill, restore, free.

Who does what (the owner-decides rule): any process may *write* an object file (``put`` in the
owner itself, or a worker writing the result of a task for its caller under the caller's
tag); only the owner *frees* it (unlinks the file, gives back its bytes) when its last
reference is gone, and only the owner spills and restores it. Borrowers just map files.

A borrower may find the file gone from shared memory because the owner spilled it meanwhile;
it then reads the spilled copy (same name, spill directory). Reading a spilled object in the
owner moves it back into shared memory if the budget allows, else reads it into private memory.
"""

from __future__ import annotations

import itertools
import os
import shutil
import threading
from collections.abc import Callable, Sequence

from actorium._store import paths, segment
from actorium._store.capacity import Capacity
from actorium._store.segment import StoredObject
from actorium.exceptions import ObjectLostError, OutOfMemoryError

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
        # Moves of one object between memory and disk, and its freeing, happen under this.
        self.lock = threading.Lock()
        self._temporaries = itertools.count()

    def path(self, name: str) -> str:
        return os.path.join(self.dir, name)

    def spill_path(self, name: str) -> str:
        return os.path.join(self.spill_dir, name)

    # ------------------------------------------------------------------ writing
    def write(self, name: str | None, data: bytes | memoryview, buffers: Sequence[memoryview],
              make_room: MakeRoom | None = None) -> StoredObject:
        """Store one serialized value under ``name`` (a temporary name if None).

        Raises OutOfMemoryError with the figures when it does not fit even after
        ``make_room`` spilled what it could; nothing is left behind then.
        """
        sizes = [buffer.nbytes for buffer in buffers]
        _, size = segment.layout(len(data), sizes)
        if not self.capacity.reserve(size):
            freed = make_room(size) if make_room is not None else 0
            if not self.capacity.reserve(size):
                limit, used = self.capacity.figures()
                raise OutOfMemoryError(
                    f"the object store is full: an object of {_mib(size)} does not fit "
                    f"({_mib(used)} of {_mib(limit)} in use, {_mib(freed)} could be spilled; "
                    f"objects in use cannot be). Drop references you no longer need, or pass "
                    f"a larger object_store_memory to init()")
        if name is None:
            name = f"{self.tag}.tmp.{os.getpid()}-{next(self._temporaries)}"
        try:
            segment.write(self.path(name), data, buffers)
        except OSError as exc:
            self.capacity.release(size)
            raise OutOfMemoryError(
                f"could not write an object of {_mib(size)} to the object store at "
                f"{self.dir}: {exc}") from exc
        return StoredObject(name, size, len(data), sizes, owned=True, home=self.dir)

    def rename(self, temporary: str, name: str) -> None:
        """Give a temporary file its final name (the owner's tag and the object id)."""
        os.rename(self.path(temporary), self.path(name))

    # ------------------------------------------------------------------ reading
    def read(self, stored: StoredObject) -> tuple[memoryview, list[memoryview]]:
        """The stream and buffers of ``stored`` as read-only views (no copy when in memory)."""
        if stored.mapping is None and stored.spilled and stored.owned:
            self.restore(stored)
        with self.lock:  # spill() must not close the mapping between these lines
            if stored.mapping is None and not stored.spilled:
                try:
                    stored.mapping = segment.map_readonly(self.path(stored.name), stored.size)
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
            if not stored.spilled or not self.capacity.reserve(stored.size):
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
        """The owner's last reference is gone: delete the object (readers keep their maps)."""
        with self.lock:
            if stored.spill_copy:
                _unlink(self.spill_path(stored.name))
            in_memory = not stored.spilled
            stored.spilled = True
            stored.spill_copy = False
            stored.mapping = None
            if in_memory:
                _unlink(self.path(stored.name))
        if in_memory:
            self.capacity.release(stored.size)

    def figures(self) -> tuple[int, int]:
        """(capacity, bytes in shared memory) for the whole node."""
        return self.capacity.figures()

    def close(self) -> None:
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
    used = 0
    for entry in os.scandir(store):
        if entry.name != paths.USAGE_FILE:
            try:
                used += entry.stat().st_size
            except FileNotFoundError:
                continue
    capacity = Capacity(usage, None)
    try:
        capacity.recount(used)
    finally:
        capacity.close()
