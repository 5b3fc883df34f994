"""ObjectRef: a handle to a value that exists, or will exist, somewhere in the runtime.

A ref names an object (``id``) and the process that owns it (``owner``: that process's inbox
address). The owner holds the value, or knows where it is; anyone else holding the ref asks the
owner for it. Refs are awaitable (``await ref``) on any event loop, and ``get()``-able from plain
threads.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Generator
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from actorium._core import context
from actorium._core.ids import OBJECT_ID_SIZE
from actorium._transport.serialization import serialization_context

if TYPE_CHECKING:
    from actorium._core.objects import ObjectTable

# Covariant: a ref to an int is a ref to a number (refs are read-only), so lists of refs to
# different types join to a ref of their common base instead of to ``object``.
T = TypeVar("T", covariant=True)


class ObjectRef(Generic[T]):
    """A reference to a (possibly future) value; ``await`` it or pass it to ``get()``.

    Holding a ref keeps its value alive; dropping the last ref (in every process) frees it.
    Refs can be passed to tasks and actors, inside lists and dicts too.
    """

    __slots__ = ("id", "owner", "_table", "__weakref__")

    def __init__(self, object_id: bytes, owner: str | None = None,
                 table: ObjectTable | None = None) -> None:
        if owner is None or table is None:
            # Ray's ObjectRef(binary): a ref again to an object this process knows.
            table = context.current_runtime().objects
            owner = _known_owner(table, object_id)
        self.id = object_id
        self.owner = owner
        self._table = table
        table.add_local_ref(object_id, owner)

    @classmethod
    def from_hex(cls, hex_id: str) -> ObjectRef[Any]:
        """``ObjectRef(bytes.fromhex(hex_id))``: the ref whose ``hex()`` is ``hex_id``."""
        if not isinstance(hex_id, str):
            raise TypeError(f"ObjectRef.from_hex() takes a hex string, not "
                            f"{type(hex_id).__name__}")
        try:
            object_id = bytes.fromhex(hex_id)
        except ValueError:
            raise ValueError(f"ObjectRef.from_hex() takes the hex string of an object id "
                             f"(ref.hex()), got {hex_id!r}") from None
        return cls(object_id)

    def __del__(self) -> None:
        # May run on any thread inside the garbage collector: only an atomic append here.
        try:
            self._table.released.append(self.id)
        except AttributeError:
            pass

    def hex(self) -> str:
        """The object id as a hex string."""
        return self.id.hex()

    def binary(self) -> bytes:
        """The object id as bytes."""
        return self.id

    def task_id(self) -> str:
        """The id of the task that produces this object, as hex."""
        return self.id[:16].hex()

    def __repr__(self) -> str:
        return f"ObjectRef({self.id.hex()})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ObjectRef) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    def __await__(self) -> Generator[Any, None, T]:
        return context.current_runtime().await_ref(self).__await__()

    def as_future(self) -> asyncio.Future[T]:
        """An asyncio future on the running loop that resolves to the value."""
        return asyncio.ensure_future(context.current_runtime().await_ref(self))

    def future(self) -> concurrent.futures.Future[T]:
        """A ``concurrent.futures.Future`` that resolves to the value (usable from any thread)."""
        return context.current_runtime().concurrent_future(self)

    def __reduce__(self) -> tuple[Any, ...]:
        refs = serialization_context.contained_refs
        if refs is not None:
            refs.append(self)
        return (_rebuild_ref, (self.id, self.owner))


def _known_owner(table: ObjectTable, object_id: Any) -> str:
    """The owner of ``object_id`` as this process's table knows it, for ``ObjectRef(bytes)``.

    Only the process's own objects and those it holds refs to can be named by id alone: the
    id does not say where the object lives, so anything else is refused here rather than
    left to wait forever in ``get()``."""
    if not isinstance(object_id, bytes):
        raise TypeError(f"ObjectRef() takes an object id as bytes (ref.binary()), not "
                        f"{type(object_id).__name__}")
    if len(object_id) != OBJECT_ID_SIZE:
        raise ValueError(f"an object id has {OBJECT_ID_SIZE} bytes, got {len(object_id)}")
    with table.lock:
        entry = table.entries.get(object_id)
        owner = entry.owner if entry is not None else None
    if owner is None:
        raise ValueError(f"no object {object_id.hex()} is known in this process: "
                         f"ObjectRef(bytes) names objects this process owns or holds a ref "
                         f"to (its value may have been freed); to hand a ref to another "
                         f"process, pass the ref itself or pickle it")
    return owner


def _rebuild_ref(object_id: bytes, owner: str) -> ObjectRef[Any]:
    table = context.current_runtime().objects
    ref: ObjectRef[Any] = ObjectRef(object_id, owner, table)
    table.note_unpickled(object_id, owner)  # a borrower now: the owner must keep the value
    return ref
