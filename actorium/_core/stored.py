"""When a value goes to the shared-memory store, and who frees it (part of ``Runtime``).

Rules (``docs/objects.md`` has the whole story):

* A serialized value larger than ``INLINE_LIMIT`` (pickle stream plus out-of-band buffers)
  is written once into the node's store; smaller ones stay in the entry and travel inline.
* ``put`` writes under the owner's name. A worker writes a large task result under a temporary
  name and renames it to the caller's (the owner's) name just before sending the result.
* A large argument given directly to ``.remote()`` is put first and passed as a ref, so ten
  tasks given one array share one copy.
* The owner frees the file when the entry is dropped; if the store is full, ``put`` first
  spills the owner's idle objects to disk, and raises ``OutOfMemoryError`` if that is not enough.
"""

from __future__ import annotations

import asyncio
import functools
import pickle
import threading
from collections.abc import Sequence
from typing import Any

from actorium._core.ids import IdMinter, object_id_for
from actorium._core.objects import PENDING, READY, ObjectEntry, ObjectTable
from actorium._core.ref import ObjectRef
from actorium._store import paths
from actorium._store.segment import StoredObject
from actorium._store.store import ObjectStore
from actorium._transport import serialization
from actorium.exceptions import OutOfMemoryError, SerializationError

# Values up to this size travel inside the message that needs them instead of being stored.
INLINE_LIMIT = 100 * 1024


def payload_size(data: bytes | memoryview, buffers: Sequence[pickle.PickleBuffer]) -> int:
    return len(data) + sum(buffer.raw().nbytes for buffer in buffers)


def _surely_stored(value: Any) -> bool:
    """Whether a top-level argument serializes to more than ``INLINE_LIMIT`` on its own
    (a ``str`` character is at least one byte of UTF-8)."""
    return type(value) in _SIZED and len(value) > INLINE_LIMIT


_SIZED = frozenset({bytes, bytearray, str})

# What ``copy_whole`` returns for a value it does not read itself.
NOT_COPIED: Any = object()
# A larger bytearray is copied out of a mapping (measured 2026-12-06, docs/performance.md).
COPY_OUT_BYTEARRAY_MAX = 4 * 2**20


class StoreAccess:
    """Mixin of ``Runtime``: the process's handle on the node's object store."""

    # Provided by Runtime.
    objects: ObjectTable
    address: str
    session_dir: str
    loop: asyncio.AbstractEventLoop | None
    closed: bool
    ids: IdMinter
    _store: ObjectStore | None
    _store_lock: threading.Lock

    @functools.cached_property
    def store_home(self) -> str:
        """This node's store directory; a stored object elsewhere cannot be mapped here."""
        return paths.store_dir(self.session_dir)

    def is_local_peer(self, address: str) -> bool:
        """Whether the process at ``address`` shares this node's store (same session)."""
        return address.startswith(f"ipc://{self.session_dir}/")

    @property
    def object_store(self) -> ObjectStore:
        """This process's store handle, opened on first use (most processes never need it)."""
        store = self._store
        if store is None:
            with self._store_lock:
                if self._store is None:
                    self._store = ObjectStore(self.session_dir, paths.owner_tag(self.address))
                store = self._store
        return store

    def free_stored(self, stored: StoredObject) -> None:
        """The owner's entry of a stored object was dropped (loop thread)."""
        self.object_store.free(stored)

    # ------------------------------------------------------------------ writing
    def put_serialized(self, fmt: int, data: bytes, buffers: list[pickle.PickleBuffer],
                       contained: list[ObjectRef[Any]]) -> ObjectRef[Any]:
        """Make an owned object of an already serialized value; returns its ref."""
        object_id = object_id_for(self.ids.next_id(), 0)
        stored = None
        if payload_size(data, buffers) > INLINE_LIMIT:
            name = paths.object_file_name(self.object_store.tag, object_id)
            stored = self.object_store.write(name, data, [b.raw() for b in buffers],
                                             self._make_room, self._settle_releases)
            stored.whole = serialization.whole_kind(fmt, data, buffers)
        entry = self.objects.expect(object_id)
        ref: ObjectRef[Any] = ObjectRef(object_id, self.address, self.objects)
        if contained:  # refs inside a value live at least as long as the value
            entry.contained = list(contained)
        if stored is not None:
            self.objects.complete(object_id, READY, fmt, b"", [], stored)
        else:
            # Copy out-of-band buffers now: the caller may mutate its array after put(), and a
            # read-only copy makes get() hand out read-only views, as Ray does.
            self.objects.complete(object_id, READY, fmt, data,
                                  [bytes(b.raw()) for b in buffers])
        return ref

    def _settle_releases(self) -> bool:
        """Apply the ref releases queued in this process now, on the loop, and wait for it
        (so that objects dropped a moment ago free their memory for a large ``put``).
        False, without waiting, if there are none or this is the loop's own thread."""
        loop = self.loop
        if (not self.objects.released or loop is None or self.closed
                or asyncio._get_running_loop() is loop):
            return False
        done = threading.Event()

        def drain() -> None:
            try:
                self.objects.drain_released()
            finally:
                done.set()

        try:
            loop.call_soon_threadsafe(drain)
        except RuntimeError:
            return False  # the loop is closing
        return done.wait(timeout=1.0)

    def _make_room(self, needed: int) -> int:
        """Spill this process's idle objects, oldest first, until ``needed`` bytes are free."""
        freed = 0
        with self.objects.lock:
            candidates = [entry.stored for entry in self.objects.entries.values()
                          if entry.stored is not None and entry.owned and entry.pins == 0
                          and entry.state == READY and not entry.stored.spilled]
        store = self.object_store
        for stored in candidates:
            if freed >= needed:
                break
            if stored is not None and store.spill(stored):
                freed += stored.size
        return freed

    def store_result(self, data: bytes, buffers: list[pickle.PickleBuffer]) -> list[Any] | None:
        """Write a large task result under a temporary name; its wire form, or None.

        None means it does not fit: the result then travels in the message (a worker cannot
        spill objects it does not own).
        """
        try:
            stored = self.object_store.write(None, data, [b.raw() for b in buffers])
        except OutOfMemoryError:
            return None
        # (A RAW value has no buffers, so it is never taken for one whole bytes-like value.)
        stored.whole = serialization.whole_kind(serialization.PICKLE, data, buffers)
        return stored.wire()

    def name_results(self, owner: str, task_id: bytes, returns: list[list[Any]],
                     buffers: list[Any], first_index: int = 0) -> list[Any]:
        """Rename the stored results of ``task_id`` after their owner, just before sending.

        An owner on another node cannot map this node's memory: its results are read back
        and sent as frames instead. Returns the message's buffers.
        """
        if not any(len(described) > 3 for described in returns):
            return buffers
        local = self.is_local_peer(owner)
        tag = paths.owner_tag(owner)
        frames: list[Any] = []
        position = 0
        for index, described in enumerate(returns):
            count = described[2]
            frames.extend(buffers[position:position + count])
            position += count
            if len(described) <= 3:
                continue
            wire = described[3]
            if local:
                name = paths.object_file_name(tag, object_id_for(task_id, first_index + index))
                self.object_store.rename(wire[0], name)
                wire[0] = name
                continue
            stored = StoredObject.from_wire(wire)
            stored.owned = True
            data, views = self.object_store.read(stored)
            described[1:] = [bytes(data), len(views)]
            frames.extend(bytes(view) for view in views)
            self.object_store.free(stored)
        return frames

    # ------------------------------------------------------------------ arguments
    def dumps_call_args(self, function_name: str, args: Sequence[Any],
                        kwargs: dict[str, Any]) -> tuple[int, bytes, list[Any], list[Any]]:
        """Serialize call arguments; large top-level ones are put first and sent as refs.

        A top-level ``bytes``, ``bytearray`` or ``str`` longer than ``INLINE_LIMIT`` is known
        to be stored without serializing all the arguments first: for a ``str`` that first
        pass would encode it to UTF-8 only to throw the encoding away.
        """
        if not (any(map(_surely_stored, args)) or any(map(_surely_stored, kwargs.values()))):
            fmt, data, buffers, refs = serialization.dumps_args(function_name, args, kwargs)
            if payload_size(data, buffers) <= INLINE_LIMIT:
                return fmt, data, buffers, refs
        try:
            put_args = tuple(self._put_if_large(arg) for arg in args)
            put_kwargs = {key: self._put_if_large(arg) for key, arg in kwargs.items()}
        except SerializationError:
            serialization.dumps_args(function_name, args, kwargs)  # names the argument
            raise
        return serialization.dumps_args(function_name, put_args, put_kwargs)

    def _put_if_large(self, value: Any) -> Any:
        if isinstance(value, ObjectRef):
            return value
        fmt, data, buffers, contained = serialization.dumps(value)
        if payload_size(data, buffers) <= INLINE_LIMIT:
            return value
        return self.put_serialized(fmt, data, buffers, contained)

    # ------------------------------------------------------------------ reading
    def serialized_of(self, entry: ObjectEntry) -> tuple[Any, Sequence[Any]]:
        """(stream, buffers) of a completed entry: views of shared memory if stored."""
        if entry.stored is not None:
            return self.object_store.read(entry.stored)
        return entry.data, entry.buffers

    def copy_whole(self, stored: StoredObject) -> Any:
        """The value of a stored object that is one large ``bytes``, ``bytearray`` or ``str``
        (``StoredObject.whole``), read the cheap way; ``NOT_COPIED`` if it is not one.

        A ``bytes``, and a ``bytearray`` below ``COPY_OUT_BYTEARRAY_MAX``, is read from the
        file straight into the new object (one copy, no mapping; a new ``bytearray`` is
        first filled with zeros, a second pass that costs more than the mapping saves once it
        is large, so a large one is unpickled out of a mapping as before). A ``str`` is
        decoded out of a mapping whose pages are all set up in one call, not one fault a page.
        """
        kind = serialization.WHOLE_TYPES.get(stored.whole)
        if kind is str:
            data, buffers = self.object_store.read(stored, populate=True)
            return serialization.loads(serialization.PICKLE, data, buffers)
        if kind is bytearray and stored.sizes[0] < COPY_OUT_BYTEARRAY_MAX:
            value: bytes | bytearray | None = self.object_store.copy_out(stored, bytearray)
        elif kind is bytes:
            value = self.object_store.copy_out(stored, bytes)
        else:
            return NOT_COPIED
        return NOT_COPIED if value is None else value

    @staticmethod
    def inline_form(entry: ObjectEntry) -> list[Any] | None:
        """What a message carries of a ready value: the value if small, where it is if
        stored, None if neither (a large value held in private memory is fetched instead)."""
        if entry.state == PENDING:
            return None
        stored = entry.stored
        if stored is not None:
            return [entry.state, entry.fmt, b"", stored.wire()]
        if not entry.buffers and len(entry.data) <= INLINE_LIMIT:
            return [entry.state, entry.fmt, entry.data]
        return None

    @staticmethod
    def stored_from_wire(wire: list[Any] | None, owned: bool) -> StoredObject | None:
        if wire is None:
            return None
        stored = StoredObject.from_wire(wire)
        stored.owned = owned
        return stored
