"""Objects as a process sees them: creating refs, storing, fetching and reading values.

Part of ``Runtime`` (mixed in): everything here works on ``self.objects``, the process's
``ObjectTable``. Values are deserialized on the reading thread; the loop thread only fills
entries. A borrowed value is fetched from its owner once (GET_OBJECT -> OBJECT_VALUE).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from actorium._core.ids import IdMinter, object_id_for
from actorium._core.objects import FAILED, PENDING, READY, ObjectEntry, ObjectTable
from actorium._core.ref import ObjectRef
from actorium._core.stored import INLINE_LIMIT, NOT_COPIED, StoreAccess
from actorium._store.segment import StoredObject
from actorium._transport import serialization
from actorium._transport.channel import Inbox, Outbox
from actorium._transport.protocol import Kind, TaskStatus
from actorium.exceptions import (
    BlockingCallInLoopError,
    GetTimeoutError,
    ObjectLostError,
    RuntimeNotInitializedError,
)

if TYPE_CHECKING:
    pass

__all__ = ["INLINE_LIMIT", "ValueAccess", "check_not_in_loop"]


def check_not_in_loop(what: str) -> None:
    if asyncio._get_running_loop() is not None:
        raise BlockingCallInLoopError(
            f"{what} blocks, and this thread is running an event loop; use "
            f"'await ref' (or 'await asyncio.gather(*refs)') instead of {what}")


class _CountDown:
    """Releases ``lock`` after ``count`` completions, from any thread (``any_thread``: the
    thread blocked on it may complete entries itself, see ``Inbox.lead``).

    While its thread leads, ``wake`` is set: a completion from another thread calls it, so
    that the leader, sleeping on the sockets rather than on ``lock``, looks again.
    """

    __slots__ = ("count", "lock", "guard", "wake", "leader")

    any_thread = True

    def __init__(self, count: int) -> None:
        self.count = count
        self.lock = threading.Lock()
        self.lock.acquire()
        self.guard = threading.Lock()
        self.wake: Callable[[], None] | None = None
        self.leader = 0

    def __call__(self, _entry: ObjectEntry | None = None) -> None:
        with self.guard:
            self.count -= 1
            fire = self.count == 0
        if fire:
            self.lock.release()
            wake = self.wake
            if wake is not None and threading.get_ident() != self.leader:
                wake()

    done = __call__

    def finished(self) -> bool:
        return self.count <= 0


class ValueAccess(StoreAccess):
    """Mixin of ``Runtime``: refs, values and waiting for them."""

    # Provided by Runtime.
    objects: ObjectTable
    address: str
    closed: bool
    ids: IdMinter
    loop: asyncio.AbstractEventLoop | None
    outbox: Outbox
    inbox: Inbox | None
    on_blocking: Callable[[bool], None] | None
    _dead_peers: set[str]

    if TYPE_CHECKING:  # methods the rest of Runtime provides
        def send(self, address: str, header: list[Any], buffers: Sequence[Any] = ()) -> None:
            ...  # Runtime.send

        def notify_node(self, verb: str, *args: Any) -> None:
            ...  # Runtime.notify_node

    # ------------------------------------------------------------------ refs and values
    def new_owned_refs(self, task_id: bytes, count: int) -> list[ObjectRef[Any]]:
        """Pending entries and refs for the ``count`` return values of ``task_id``."""
        refs: list[ObjectRef[Any]] = []
        for index in range(count):
            object_id = object_id_for(task_id, index)
            self.objects.expect(object_id)
            refs.append(ObjectRef(object_id, self.address, self.objects))
        return refs

    def put(self, value: Any) -> ObjectRef[Any]:
        """Store ``value`` (serialized once, now) and return its ref.

        Large values are written into the shared-memory store; raises OutOfMemoryError if
        the store is full even after spilling this process's idle objects.
        """
        fmt, data, buffers, contained = serialization.dumps(value)
        return self.put_serialized(fmt, data, buffers, contained)

    def deps_of(self, refs: list[ObjectRef[Any]]) -> list[list[Any]]:
        """Describe the refs a message carries: [id, owner, counted, inline value or None].

        Every ref is *counted*: the receiver will release it when done. Refs this process owns
        stay alive here until then; a borrowed ref passed on is announced to its owner first
        (an added borrower), so the owner keeps it for the receiver even after this process
        lets go. Small ready values are inlined so the receiver does not have to ask for them.
        """
        deps = []
        seen = set()
        for ref in refs:
            if ref.id in seen:
                continue
            seen.add(ref.id)
            inline = None
            counted = True
            if ref.owner == self.address:
                self.objects.change_counts(ref.id, borrowers=1)
            elif ref.owner in self._dead_peers or self.closed:
                counted = False  # nobody to count with: the receiver will find it lost
            else:
                self._add_borrow(ref.id, ref.owner)
            entry = self.objects.entries.get(ref.id)
            if entry is not None:
                inline = self.inline_form(entry)
            deps.append([ref.id, ref.owner, counted, inline])
        return deps

    def accept_deps(self, deps: list[list[Any]], *,
                    pin: bool = False) -> list[tuple[bytes, ObjectEntry]]:
        """Take note of refs that arrived in a message; return their entries (loop thread).

        With ``pin`` the entries stay alive until ``unpin_deps`` is called with them: pass it
        for the arguments of work that runs here.
        """
        out = []
        for object_id, owner, counted, inline in deps:
            if counted and owner != self.address:
                self.objects.note_received(object_id, owner)
            entry = self.objects.entry_for_ref(object_id, owner, pin=pin)
            if counted and owner == self.address:
                # Our own ref came back: the borrower count taken for it ends here. Held by
                # a pin until the next drain, so the value that carries it can be unpickled.
                self.objects.change_counts(object_id, pins=1, borrowers=-1)
                self.objects.unpin_later([object_id])
            if inline is None or entry.state != PENDING:
                pass
            elif len(inline) <= 3:
                self.objects.complete(object_id, inline[0], inline[1], inline[2], [])
            elif pin and inline[3][5] == self.store_home:
                # Arguments of work about to run here: map the stored value directly. Refs
                # merely passed along stay pending and are fetched from the owner on first
                # read, so a value whose owner died is reported lost, not read from a file
                # that is being swept.
                stored = self.stored_from_wire(inline[3], entry.owned)
                self.objects.complete(object_id, inline[0], inline[1], inline[2], [], stored)
            out.append((object_id, entry))
        return out

    def unpin_deps(self, entries: list[tuple[bytes, ObjectEntry]]) -> None:
        """The work whose arguments were pinned by ``accept_deps`` is over (any thread)."""
        if entries:
            self.objects.unpin_later([object_id for object_id, _ in entries])
            # Give the borrows back now rather than at the next periodic drain: this worker
            # may be handed its next task (and die in it) before then.
            loop = self.loop
            if loop is not None and not self.closed:
                try:
                    loop.call_soon_threadsafe(self.objects.drain_released)
                except RuntimeError:
                    pass  # the loop is closing

    def ensure_fetch(self, object_id: bytes, entry: ObjectEntry) -> None:
        """Ask the owner of a borrowed, pending object to send it (once)."""
        if entry.owned or entry.state != PENDING or entry.fetching:
            return
        entry.fetching = True
        if entry.owner in self._dead_peers:
            self._lose(object_id, entry, "its owner died")
            return
        self.send(entry.owner, [Kind.GET_OBJECT, object_id, self.address, self.store_home])

    def _lose(self, object_id: bytes, entry: ObjectEntry, why: str) -> None:
        lost = ObjectLostError(f"object {object_id.hex()} is lost: {why} ({entry.owner})")
        self.objects.complete(object_id, FAILED, serialization.PICKLE,
                              serialization.dumps(lost)[1], [])

    def _on_worker_died(self, header: list[Any], _buffers: list[Any]) -> None:
        """A worker process is gone: objects it owned can no longer be fetched."""
        _, _worker_id, address, reason = header[:4]
        self._dead_peers.add(address)
        self.outbox.forget(address)
        # Tasks of ours it finished lately: a result still inside it died with it (ZeroMQ
        # queues in the sender). Those we never got run again; the node kept them.
        finished = header[4] if len(header) > 4 else ()
        never_came = [task_id for task_id in finished
                      if (e := self.objects.entries.get(object_id_for(task_id, 0))) is not None
                      and e.state == PENDING]
        if never_came:
            self.notify_node("lost_results", never_came)
        for object_id, entry in self.objects.snapshot():
            if entry.owner != address or entry.owned:
                continue
            why = f"its owner, a worker that {reason}, died"
            if entry.state == PENDING:
                self._lose(object_id, entry, why)
            elif entry.stored is not None:
                # Its file goes with its owner (the node sweeps it): fate-sharing, as in Ray.
                lost = ObjectLostError(f"object {object_id.hex()} is lost: {why} ({address})")
                self.objects.replace_value(entry, FAILED, serialization.PICKLE,
                                           serialization.dumps(lost)[1])

    def _on_get_object(self, header: list[Any], _buffers: list[Any]) -> None:
        _, object_id, reply_to = header[:3]
        # A requester on the same node maps the stored file; one elsewhere gets the bytes.
        same_node = len(header) > 3 and header[3] == self.store_home
        entry = self.objects.entries.get(object_id)
        if entry is None:
            self.send(reply_to, [Kind.OBJECT_VALUE, object_id, TaskStatus.LOST, 0, b"", 0])
            return

        def reply(done: ObjectEntry) -> None:
            status = TaskStatus.OK if done.state == READY else TaskStatus.ERROR
            if done.stored is not None and same_node:  # say where it is, send no bytes
                self.send(reply_to, [Kind.OBJECT_VALUE, object_id, status, done.fmt, b"", 0,
                                     done.stored.wire()])
                return
            data, buffers = self.serialized_of(done)
            self.send(reply_to, [Kind.OBJECT_VALUE, object_id, status, done.fmt, bytes(data),
                                 len(buffers)], buffers)

        if not self.objects.add_waiter(entry, reply):
            reply(entry)

    def _on_object_value(self, header: list[Any], buffers: list[Any]) -> None:
        _, object_id, status, fmt, data, _count = header[:6]
        entry = self.objects.entries.get(object_id)
        if entry is None:
            return
        entry.fetching = False
        if status == TaskStatus.OK:
            stored = self.stored_from_wire(header[6] if len(header) > 6 else None, entry.owned)
            self.objects.complete(object_id, READY, fmt, data, [b.buffer for b in buffers],
                                  stored)
        elif status == TaskStatus.ERROR:
            self.objects.complete(object_id, FAILED, fmt, data, [])
        else:
            self._lose(object_id, entry, "its owner no longer has it")

    def _release_borrow(self, object_id: bytes, owner: str, count: int,
                        stored: StoredObject | None) -> None:
        """A borrowed entry is gone: close our mapping of its stored value, and give the
        counted refs back, saying whether a view of it still maps the file here (then the
        owner must not reuse that memory for another object)."""
        still_mapped = False
        if stored is not None and self._store is not None:
            still_mapped = not self._store.let_go(stored)
        if count and not self.closed:
            self.send(owner, [Kind.RELEASE_OBJECT, object_id, count, still_mapped])

    def _add_borrow(self, object_id: bytes, owner: str) -> None:
        if not self.closed:  # a release of -1 is an added borrower
            self.send(owner, [Kind.RELEASE_OBJECT, object_id, -1])

    def _on_release_object(self, header: list[Any], _buffers: list[Any]) -> None:
        _, object_id, count = header[:3]
        if len(header) > 3 and header[3]:  # the borrower still maps it: never reuse the file
            entry = self.objects.entries.get(object_id)
            if entry is not None and entry.stored is not None:
                entry.stored.mapped_elsewhere = True
        self.objects.change_counts(object_id, borrowers=-count)

    # ------------------------------------------------------------------ reading values
    def value_of(self, entry: ObjectEntry) -> Any:
        """Deserialize a completed entry; raise the error it holds."""
        stored = entry.stored
        if stored is not None and stored.whole and entry.state == READY:
            value = self.copy_whole(stored)
            if value is not NOT_COPIED:
                return value
        data, buffers = self.serialized_of(entry)
        if entry.state == READY:
            return serialization.loads(entry.fmt, data, buffers)
        error = serialization.loads(entry.fmt, data, buffers)
        raise error

    def _entry_of(self, ref: Any) -> ObjectEntry:
        if not isinstance(ref, ObjectRef):
            raise TypeError(
                f"get() takes an ObjectRef or a list of ObjectRefs, got {type(ref).__name__} "
                f"({ref!r:.60}); to read a value you already have, use it directly")
        entry = self.objects.entries.get(ref.id)
        if entry is None:  # cannot normally happen while the ref lives
            entry = self.objects.add_local_ref(ref.id, ref.owner)
        return entry

    def get(self, refs: Sequence[ObjectRef[Any]], timeout: float | None) -> list[Any]:
        """Block until every ref is complete, then return the values (not on a loop thread)."""
        check_not_in_loop("actorium.get()")
        entries = [self._entry_of(ref) for ref in refs]
        self.wait_entries(refs, entries, len(entries), timeout)
        return [self.value_of(entry) for entry in entries]

    def wait_entries(self, refs: Sequence[ObjectRef[Any]], entries: list[ObjectEntry],
                     needed: int, timeout: float | None, *, raise_on_timeout: bool = True) -> None:
        """Block until ``needed`` of ``entries`` are complete or ``timeout`` passes."""
        pending = [(ref, entry) for ref, entry in zip(refs, entries, strict=True)
                   if entry.state == PENDING]
        ready = len(entries) - len(pending)
        if ready >= needed:
            return
        if self.closed:
            raise RuntimeNotInitializedError("actorium was shut down")
        countdown = _CountDown(needed - ready + 1)  # +1: a guard held while registering
        registered = 0
        for ref, entry in pending:
            if self.objects.add_waiter(entry, countdown):
                registered += 1
                self.ensure_fetch(ref.id, entry)
            else:
                countdown.done()
        countdown.done()  # drop the guard
        if not registered:
            return
        blocking_hook = self.on_blocking
        if blocking_hook is not None:
            blocking_hook(True)
        try:
            finished = self._wait_countdown(countdown, timeout)
        finally:
            if blocking_hook is not None:
                blocking_hook(False)
        if not finished and raise_on_timeout:
            raise GetTimeoutError(f"get() timed out after {timeout} s: "
                                  f"{sum(e.state == PENDING for e in entries)} of "
                                  f"{len(entries)} object(s) not ready")

    def _wait_countdown(self, countdown: _CountDown, timeout: float | None) -> bool:
        """Block until ``countdown`` fires or ``timeout`` passes; True if it fired.

        The thread leads if nobody else does: it reads this process's streams itself and so
        takes its reply straight from the socket, instead of waiting for the loop to read it
        and wake it (one hand-off between threads less per blocking call).
        """
        inbox = self.inbox
        if inbox is not None and (timeout is None or timeout > 0):
            started = time.monotonic()
            countdown.leader = threading.get_ident()
            countdown.wake = inbox.wake
            try:
                led = inbox.lead(countdown.finished, timeout)
            finally:
                countdown.wake = None
            if led and timeout is not None:
                timeout = max(0.0, timeout - (time.monotonic() - started))
        return countdown.lock.acquire(timeout=-1 if timeout is None else timeout)

    async def await_ref(self, ref: ObjectRef[Any]) -> Any:
        """Await one ref's value on whatever loop is running."""
        entry = self._entry_of(ref)
        if entry.state == PENDING:
            await self._entry_done(ref, entry)
        return self.value_of(entry)

    def _entry_done(self, ref: ObjectRef[Any], entry: ObjectEntry) -> asyncio.Future[None]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        if loop is self.loop:
            def wake(_entry: ObjectEntry) -> None:
                if not future.done():
                    future.set_result(None)
        else:
            def wake(_entry: ObjectEntry) -> None:
                try:
                    loop.call_soon_threadsafe(_resolve, future)
                except RuntimeError:
                    pass  # that loop is closed: nobody awaits this any more
        if self.objects.add_waiter(entry, wake):
            self.ensure_fetch(ref.id, entry)
        else:
            future.set_result(None)
        return future

    def concurrent_future(self, ref: ObjectRef[Any]) -> concurrent.futures.Future[Any]:
        entry = self._entry_of(ref)
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()

        def finish(done: ObjectEntry) -> None:
            try:
                future.set_result(self.value_of(done))
            except BaseException as exc:  # noqa: BLE001 - handed to the future's reader
                future.set_exception(exc)

        if self.objects.add_waiter(entry, finish):
            self.ensure_fetch(ref.id, entry)
        else:
            finish(entry)
        return future


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
