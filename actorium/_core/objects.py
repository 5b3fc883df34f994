"""The table of objects a process knows: the ones it owns and the ones it borrowed.

An entry is *pending* until its value arrives (a task result, an owner's reply) and then holds
the serialized value: ``(format, data, buffers)``. Values are deserialized by whoever calls
``get``, on their own thread, so the loop thread that fills entries does no pickling.

Entries are filled on the loop thread and read from any thread; one lock guards the moment a
waiter is registered against the moment the entry completes, so no wake-up is lost. One
exception: a thread blocked in ``get()`` that read a plain result itself fills its entries
(``complete_off_loop``), when every waiter of them is marked ``any_thread`` (a blocked
``get()``'s count-down, not a future of some loop).

Across threads, one rule for the ``entries`` dict (user threads create refs and put values
while the loop completes, drops and reports entries):

* its shape (an id added or removed) changes only with ``lock`` held;
* looking one id up (``entries.get``) needs no lock: a single dict operation is atomic;
* nobody iterates ``entries`` itself: a walk over the table takes ``snapshot()`` (or
  holds ``lock`` for a short loop), since another thread adding an entry mid-walk makes
  the walk fail with "dictionary changed size during iteration".

Lifetime: every live ``ObjectRef`` instance counts once for its id (``add_local_ref`` /
``release_local_ref``). ``ObjectRef.__del__`` may run on any thread inside the garbage
collector, so it only appends to ``released`` (a deque: no lock); the loop drains that queue.
An entry is dropped when no local ref, no pin (a submitted task still needing it, or a task
or call running here whose arguments name it), and no borrower (another process holding a ref
we sent) remains. Pins taken by running work are given back through ``unpinned``, another
lock-free queue, because work ends on pool threads and the loop owns the drop.

Refs nested in values: a ref to another process's object that comes out of an unpickled
value (not as a counted argument) registers this process as a borrower with the owner
(``note_unpickled``; sent from the loop before any release, so the owner hears of the new
borrower while the enclosing value still keeps the object alive).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from itertools import islice
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from actorium._store.segment import StoredObject

PENDING = 0
READY = 1
FAILED = 2  # data is a serialized exception to raise on get

Waiter = Callable[["ObjectEntry"], None]


class ObjectEntry:
    """One object's state and, once known, its serialized value."""

    __slots__ = ("state", "fmt", "data", "buffers", "waiters", "local_refs", "pins",
                 "borrowers", "owned", "owner", "fetching", "received_counted", "contained",
                 "stored")

    def __init__(self, owned: bool, owner: str) -> None:
        self.state = PENDING
        self.fmt = 0
        self.data: Any = b""
        self.buffers: list[Any] = []
        self.waiters: list[Waiter] | None = None
        self.local_refs = 0
        self.pins = 0
        self.borrowers = 0
        self.owned = owned
        self.owner = owner
        self.fetching = False
        # Borrower side: how many counted copies of this ref we received (to release later).
        self.received_counted = 0
        # Refs found inside the value: held here so they live as long as the value does.
        self.contained: list[Any] | None = None
        # Set when the value lives in the shared-memory store (then data/buffers are empty).
        self.stored: StoredObject | None = None


class ObjectTable:
    """Object entries of one process, keyed by object id."""

    def __init__(self, own_address: str) -> None:
        self.entries: dict[bytes, ObjectEntry] = {}
        self.lock = threading.Lock()
        self.released: deque[bytes] = deque()
        self.unpinned: deque[bytes] = deque()
        self.unpickled: deque[tuple[bytes, str]] = deque()
        # Called (loop thread) to tell an owner that this process now borrows an object.
        self.on_borrow_added: Callable[[bytes, str], None] | None = None
        self.own_address = own_address
        # Called (loop thread) when a borrowed entry is dropped: (object_id, owner, count of
        # counted copies to give back, the stored value's description if it has one).
        self.on_borrow_released: (
            Callable[[bytes, str, int, StoredObject | None], None] | None) = None
        # Called (loop thread) when the value of an owned, stored object is no longer needed.
        self.on_stored_dropped: Callable[[StoredObject], None] | None = None

    # --- creation -----------------------------------------------------------------------
    def expect(self, object_id: bytes) -> ObjectEntry:
        """Create the pending entry of an object this process owns (a call's return value)."""
        entry = ObjectEntry(True, self.own_address)
        with self.lock:
            self.entries[object_id] = entry
        return entry

    def snapshot(self) -> list[tuple[bytes, ObjectEntry]]:
        """The entries as a list, in creation order, taken under ``lock`` (any thread)."""
        with self.lock:
            return list(self.entries.items())

    def newest(self, count: int) -> tuple[int, list[tuple[bytes, ObjectEntry]]]:
        """How many entries there are, and the ``count`` newest, newest first (any thread)."""
        with self.lock:
            entries = self.entries
            return len(entries), list(islice(reversed(entries.items()), count))

    def oldest_values(self, count: int) -> list[ObjectEntry]:
        """The ``count`` oldest entries (any thread); for bounded sums over a large table."""
        with self.lock:
            return list(islice(self.entries.values(), count))

    def entry_for_ref(self, object_id: bytes, owner: str, *, pin: bool = False) -> ObjectEntry:
        """The entry behind a ref, creating a borrowed (pending, unfetched) one if new.

        ``pin`` keeps the entry alive for work that will read it later: between a message's
        arrival and the unpickling of its arguments, the last ``ObjectRef`` of an earlier
        task may be released and would otherwise drop the value under the next one's feet.
        """
        with self.lock:
            entry = self._entry_or_new(object_id, owner)
            if pin:
                entry.pins += 1
            return entry

    def unpin_later(self, object_ids: list[bytes]) -> None:
        """Give back pins taken with ``entry_for_ref(pin=True)``; safe from any thread."""
        self.unpinned.extend(object_ids)

    def _entry_or_new(self, object_id: bytes, owner: str) -> ObjectEntry:
        # Call with ``lock`` held.
        entry = self.entries.get(object_id)
        if entry is None:
            entry = ObjectEntry(owner == self.own_address, owner)
            self.entries[object_id] = entry
        return entry

    # --- completion ---------------------------------------------------------------------
    def complete(self, object_id: bytes, state: int, fmt: int, data: Any,
                 buffers: list[Any], stored: StoredObject | None = None) -> None:
        """Fill an entry with its value (or error) and wake everybody waiting for it.

        ``stored``: the value is in the shared-memory store, described there.
        """
        entry = self.entries.get(object_id)
        if entry is None:
            # Nobody holds a ref any more: drop the value (and free it, if it is ours).
            if stored is not None and stored.owned and self.on_stored_dropped is not None:
                self.on_stored_dropped(stored)
            return
        with self.lock:
            if entry.state != PENDING:
                return
            entry.fmt = fmt
            entry.data = data
            entry.buffers = buffers
            entry.stored = stored
            entry.state = state
            waiters, entry.waiters = entry.waiters, None
        if waiters:
            for waiter in waiters:
                waiter(entry)

    def complete_off_loop(self, values: list[tuple[bytes, int, int, Any, list[Any]]],
                          ) -> list[tuple[Waiter, ObjectEntry]] | None:
        """``complete`` for a thread other than the loop (one blocked in ``get()`` that read
        the result itself): fill every entry of ``values`` (object id, state, format, data,
        buffers) only if all their waiters may be called from any thread (``any_thread``),
        else fill none and return None. Returns the waiters to call, once the caller's own
        bookkeeping is done."""
        wake: list[tuple[Waiter, ObjectEntry]] = []
        with self.lock:
            entries = self.entries
            for object_id, *_value in values:
                entry = entries.get(object_id)
                if entry is None:
                    continue
                if entry.state != PENDING:
                    return None   # answered twice (a resend): the loop sorts it out
                for waiter in entry.waiters or ():
                    if not getattr(waiter, "any_thread", False):
                        return None
            for object_id, state, fmt, data, buffers in values:
                entry = entries.get(object_id)
                if entry is None:
                    continue
                entry.fmt, entry.data, entry.buffers, entry.state = fmt, data, buffers, state
                waiters, entry.waiters = entry.waiters, None
                wake.extend((waiter, entry) for waiter in waiters or ())
        return wake

    def replace_value(self, entry: ObjectEntry, state: int, fmt: int, data: bytes) -> None:
        """Turn a completed entry into another outcome (a stored value whose owner died)."""
        with self.lock:
            entry.state = state
            entry.fmt = fmt
            entry.data = data
            entry.buffers = []
            entry.stored = None

    def add_waiter(self, entry: ObjectEntry, waiter: Waiter) -> bool:
        """Register ``waiter`` for a pending entry; False if it is already complete."""
        with self.lock:
            if entry.state != PENDING:
                return False
            if entry.waiters is None:
                entry.waiters = [waiter]
            else:
                entry.waiters.append(waiter)
            return True

    # --- lifetime -----------------------------------------------------------------------
    # Counts change on user threads (refs created) and on the loop (refs released), so every
    # change happens under ``lock``; ``+=`` on a shared int is not atomic across threads.
    def add_local_ref(self, object_id: bytes, owner: str) -> ObjectEntry:
        with self.lock:
            entry = self._entry_or_new(object_id, owner)
            entry.local_refs += 1
            return entry

    def drain_released(self) -> None:
        """Apply the releases queued by ``ObjectRef.__del__`` (loop thread)."""
        released, unpinned, unpickled = self.released, self.unpinned, self.unpickled
        if unpickled and self.on_borrow_added is not None:
            while unpickled:
                self.on_borrow_added(*unpickled.popleft())
        if not released and not unpinned:
            return
        dropped: list[tuple[bytes, ObjectEntry]] = []
        with self.lock:
            entries = self.entries
            while unpinned:
                object_id = unpinned.popleft()
                entry = entries.get(object_id)
                if entry is not None:
                    entry.pins -= 1
                    self._drop_if_unused(object_id, entry, dropped)
            while released:
                object_id = released.popleft()
                entry = entries.get(object_id)
                if entry is not None:
                    entry.local_refs -= 1
                    self._drop_if_unused(object_id, entry, dropped)
        self._notify_owners(dropped)

    def _drop_if_unused(self, object_id: bytes, entry: ObjectEntry,
                        dropped: list[tuple[bytes, ObjectEntry]]) -> None:
        if entry.local_refs > 0 or entry.pins > 0 or entry.borrowers > 0 or entry.waiters:
            return
        del self.entries[object_id]
        dropped.append((object_id, entry))

    def _notify_owners(self, dropped: list[tuple[bytes, ObjectEntry]]) -> None:
        on_stored = self.on_stored_dropped
        if on_stored is not None:
            for _object_id, entry in dropped:
                if entry.owned and entry.stored is not None:
                    on_stored(entry.stored)
        if self.on_borrow_released is None:
            return
        for object_id, entry in dropped:
            if not entry.owned and (entry.received_counted or entry.stored is not None):
                self.on_borrow_released(object_id, entry.owner, entry.received_counted,
                                        entry.stored)

    def change_counts(self, object_id: bytes, *, pins: int = 0, borrowers: int = 0) -> None:
        """Add to (or, with negative numbers, take from) an entry's pins and borrowers."""
        dropped: list[tuple[bytes, ObjectEntry]] = []
        with self.lock:
            entry = self.entries.get(object_id)
            if entry is None:
                return
            entry.pins += pins
            # Never below zero: a release that crossed a worker's death must not turn the
            # next borrower's count into a zero (and free the object under its feet).
            entry.borrowers = max(entry.borrowers + borrowers, 0)
            self._drop_if_unused(object_id, entry, dropped)
        self._notify_owners(dropped)

    def note_unpickled(self, object_id: bytes, owner: str) -> None:
        """A ref to ``owner``'s object came out of a value: borrow it, once per entry."""
        if owner == self.own_address:
            return
        with self.lock:
            entry = self._entry_or_new(object_id, owner)
            if entry.received_counted:
                return  # already counted with the owner while this entry lives
            entry.received_counted = 1
        self.unpickled.append((object_id, owner))

    def note_received(self, object_id: bytes, owner: str) -> None:
        """A counted copy of a borrowed ref arrived: remember to release it to the owner."""
        with self.lock:
            self._entry_or_new(object_id, owner).received_counted += 1
