"""The consuming side of a streaming generator: ``ObjectRefGenerator``.

A call of a generator (``num_returns="streaming"``, the default for generator functions and
methods) returns at once with an ``ObjectRefGenerator``. The producer's worker sends each
yielded value as it comes (GENERATOR_ITEM, straight to this process, the items' owner); item
``i`` is the object ``task_id + (i + 1)``. The call's ordinary result, object ``task_id + 0``,
ends the stream: it holds the number of items, or the error that ended the call early (actor
died, worker lost, cancelled).

Items carry their index, so items that overtake each other (a producer's threads use different
sockets) are handed out in order, and the items a retried producer sends again are dropped:
Ray's rule for a streaming generator that is retried is to run it again from the start and
ignore what the consumer already has.

Back-pressure: the consumer tells the producer how many items it has handed out
(GENERATOR_ACK, every quarter of the limit); the producer pauses while it is the limit ahead.

Dropping the generator (its last reference) cancels the producer if it still runs: nothing
would read what it makes. ``__del__`` only queues the id; the loop sends the cancel.

The inlet (``_transport/datagrams.py``): a stream called from a plain thread (no event loop
running in it) gets a datagram socket of its own, which a producer on this machine writes
its small items into. The thread blocked in ``next()`` reads it itself, so an item wakes one
thread, not the loop and then the reader. What cannot take the inlet comes through the inbox
as before, and wakes the reader with a ``poke``. Any other way of waiting (``async for``,
``wait()``, ``is_finished()``) closes the inlet first (what it still holds is filed): from
then on every item takes the inbox, whose loop files it.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections import deque
from time import monotonic
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from actorium._core.ids import object_id_for
from actorium._core.objects import FAILED, PENDING, READY, ObjectEntry
from actorium._core.ref import ObjectRef
from actorium._faults.plan import FAULTS_ENV
from actorium._transport.datagrams import LOOK_FOR_INLET, Inlet, inlet_path
from actorium._transport.protocol import Kind, TaskStatus, unpack

if TYPE_CHECKING:
    from collections.abc import Sequence

    from actorium._core.objects import ObjectTable
    from actorium._core.runtime import Runtime
    from actorium._store.segment import StoredObject
    from actorium._transport.auth import FrameAuth

T = TypeVar("T", covariant=True)

# A reader that finds this many items queued in its inlet gives it up (see __next__).
_BACKLOG = 4
# A reader that waited this long (seconds) for an item after the first opens an inlet (a
# busy stream's waits are tens of µs; a scheduling hiccup under load rarely reaches this).
_SPARSE = 500e-6


class StreamState:
    """What the owner knows of one stream (shared by the loop thread and consumers)."""

    __slots__ = ("task_id", "items", "next_index", "total", "failed", "producer", "acked",
                 "ack_every", "cond", "async_waiters", "listeners", "end", "inlet", "reading",
                 "inlet_wanted", "sparse")

    def __init__(self, task_id: bytes, end: ObjectRef[Any], backpressure: int,
                 inlet_wanted: bool = False) -> None:
        self.task_id = task_id
        self.end = end                               # the call's result: count or error
        self.items: dict[int, ObjectRef[Any]] = {}   # arrived, not yet handed out
        self.next_index = 0
        self.total: int | None = None                # known once the end arrived
        self.failed = False                          # the end holds an error
        self.producer: str | None = None             # where acks go (changes on a retry)
        self.acked = 0
        self.ack_every = max(backpressure // 4, 1) if backpressure > 0 else 0
        self.cond = threading.Condition()
        self.async_waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self.listeners: list[Any] = []               # callables told of any change (wait())
        self.inlet: Inlet | None = None              # the reading thread's own socket, if any
        self.inlet_wanted = inlet_wanted             # open one when items prove sparse
        self.sparse = False                          # next() waited long for an item
        self.reading = False                         # a thread waits in inlet.wait()

    def ended(self) -> bool:
        """Every item is handed out and the end is known (call with ``cond`` held)."""
        if self.failed:
            return not self.items
        return self.total is not None and self.next_index >= self.total

    def has_next(self) -> bool:
        """``next()`` would not block (call with ``cond`` held)."""
        return self.next_index in self.items or self.failed or (
            self.total is not None and self.next_index >= self.total)

    def wake(self) -> None:
        """Something changed: wake blocked and awaiting consumers (any thread)."""
        with self.cond:
            self.cond.notify_all()
            waiters, self.async_waiters = self.async_waiters, []
            listeners = list(self.listeners)
            reading = self.reading
        if reading and self.inlet is not None:
            self.inlet.poke()
        for loop, future in waiters:
            try:
                loop.call_soon_threadsafe(_resolve, future)
            except RuntimeError:
                pass  # that loop is closed: nobody awaits this any more
        for listener in listeners:
            listener()


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class ObjectRefGenerator(Generic[T]):
    """The refs a streaming generator call yields, in order, as the producer makes them.

    ``next(gen)`` blocks until the next item exists (refused on a running event loop: use
    ``await gen.__anext__()`` or ``async for``); both end when the producer returned. Each
    item is an ``ObjectRef``: ``get`` or ``await`` it. An exception raised by the generator
    comes as the ref after the last good item (reading it raises); so do the death of the
    actor or worker (``ActorDiedError``, ``WorkerCrashedError``) and ``cancel(gen)``.

    Dropping every reference to the generator cancels the producer if it still runs.
    """

    __slots__ = ("_state", "_runtime", "_dropped", "__weakref__")

    def __init__(self, runtime: Runtime, state: StreamState) -> None:
        self._runtime = runtime
        self._state = state
        self._dropped = runtime.dropped_streams

    # ------------------------------------------------------------------ sync iteration
    def __iter__(self) -> ObjectRefGenerator[T]:
        return self

    def __next__(self) -> ObjectRef[T]:
        from actorium._core.values import check_not_in_loop

        check_not_in_loop("next() on an ObjectRefGenerator")
        state = self._state
        runtime = self._runtime
        drain = True   # take what the inlet holds first (not right after wait() gave an item)
        while True:
            inlet = state.inlet
            with state.cond:
                if inlet is not None and (drain or state.failed):
                    queued = inlet.ready()
                    for datagram in queued:
                        runtime.file_datagram(datagram)
                    if len(queued) >= _BACKLOG:
                        # Items wait for the reader, not the reader for items: the loop
                        # filing them beside this thread (on another core) is faster.
                        runtime.close_inlet(state)
                        inlet = None
                drain = True
                ref = self._take()
                if inlet is not None and (state.next_index < 0 or state.ended()):
                    state.inlet = None   # the end is here: nothing more will come
                    inlet.close()
                if ref is not None:
                    return ref
                if state.ended():
                    raise StopIteration
                if inlet is None and state.inlet_wanted and state.sparse \
                        and state.next_index < LOOK_FOR_INLET:   # the producer still looks
                    state.inlet_wanted = False
                    inlet = state.inlet = runtime.open_inlet(state.task_id)
                if inlet is None or inlet.closed:
                    began = monotonic()
                    state.cond.wait()
                    # A long wait for an item after the first: items are sparse, each is
                    # worth its one wake-up (a busy stream is faster through the loop,
                    # which files items beside this thread, many per read).
                    state.sparse = state.next_index > 0 and monotonic() - began > _SPARSE
                    continue
                state.reading = True
            try:
                got = inlet.wait()   # an item of this stream, or a poke: one wake-up
            finally:
                with state.cond:
                    state.reading = False
            if got:
                runtime.file_datagram(got)
                drain = False
            elif got is not None and state.next_index in state.items:
                # Poked for an item that came through the inbox: the producer no longer
                # writes to the inlet (it was full), so waiting on it costs a hop more.
                runtime.close_inlet(state)

    def _leave_inlet(self) -> None:
        """Items come through the inbox only from now on (another way of waiting began)."""
        self._runtime.close_inlet(self._state)

    def _take(self) -> ObjectRef[Any] | None:
        """The next item, or the failed end once; None if it is not here (``cond`` held)."""
        state = self._state
        ref = state.items.pop(state.next_index, None)
        if ref is None and state.failed and state.items and state.next_index >= 0:
            # Ended early with a gap (an item lost with its producer): skip to what is here.
            state.next_index = min(state.items)
            ref = state.items.pop(state.next_index)
        if ref is None:
            if not state.failed or state.next_index < 0:
                return None
            # The stream ended early: its error is the last item, once.
            state.next_index = -1
            return state.end
        state.next_index += 1
        if state.ack_every and state.next_index - state.acked >= state.ack_every \
                and state.producer is not None:
            state.acked = state.next_index
            self._runtime.send(state.producer, [Kind.GENERATOR_ACK, state.task_id,
                                                state.next_index])
        return ref

    # ------------------------------------------------------------------ async iteration
    def __aiter__(self) -> ObjectRefGenerator[T]:
        return self

    async def __anext__(self) -> ObjectRef[T]:
        state = self._state
        if state.inlet is not None or state.inlet_wanted:
            self._leave_inlet()
        loop = asyncio.get_running_loop()
        while True:
            with state.cond:
                ref = self._take()
                if ref is not None:
                    return ref
                if state.ended():
                    raise StopAsyncIteration
                future: asyncio.Future[None] = loop.create_future()
                state.async_waiters.append((loop, future))
            await future

    # ------------------------------------------------------------------ introspection
    def task_id(self) -> str:
        """The id of the call that produces the items, as hex."""
        return self._state.task_id.hex()

    def is_finished(self) -> bool:
        """True once every item was handed out and the producer's end is known."""
        if self._state.inlet is not None or self._state.inlet_wanted:
            self._leave_inlet()
        with self._state.cond:
            return self._state.ended() or self._state.next_index < 0

    def completed(self) -> ObjectRef[Any]:
        """The call's own result: ready when the producer has ended (Ray's name)."""
        return self._state.end

    def _next_ready(self) -> bool:
        if self._state.inlet is not None or self._state.inlet_wanted:
            self._leave_inlet()
        with self._state.cond:
            return self._state.has_next()

    def __repr__(self) -> str:
        return f"ObjectRefGenerator({self._state.task_id.hex()})"

    def __reduce__(self) -> Any:
        raise TypeError("an ObjectRefGenerator cannot be sent to another process: consume it "
                        "where the call was made, or send the refs it yields")

    def __del__(self) -> None:
        # Any thread, inside the garbage collector: an atomic append, the loop does the rest.
        try:
            self._dropped.append(self._state.task_id)
        except AttributeError:
            pass


class DynamicObjectRefGenerator:
    """``num_returns="dynamic"``: the value of the call's one ref, an iterable of refs.

    The producer ran to the end before the value exists; every item was stored as it was
    yielded (owned by the worker that ran the call) and is read like any ref.
    """

    def __init__(self, refs: list[ObjectRef[Any]]) -> None:
        self._refs = refs

    def __iter__(self) -> Any:
        return iter(self._refs)

    def __len__(self) -> int:
        return len(self._refs)

    def __repr__(self) -> str:
        return f"DynamicObjectRefGenerator({len(self._refs)} refs)"


class StreamOwner:
    """Mixin of ``Runtime``: the streams this process consumes (items arrive on the loop)."""

    streams: dict[bytes, StreamState]
    dropped_streams: deque[bytes]
    # Provided by Runtime.
    objects: ObjectTable
    address: str
    closed: bool
    auth: FrameAuth
    loop_thread_id: int

    if TYPE_CHECKING:  # methods the rest of Runtime provides
        def send(self, address: str, header: list[Any], buffers: Sequence[Any] = ()) -> None:
            ...  # Runtime.send

        def value_of(self, entry: ObjectEntry) -> Any:
            ...  # ValueAccess.value_of

        def accept_deps(self, deps: list[list[Any]], *,
                        pin: bool = False) -> list[tuple[bytes, ObjectEntry]]:
            ...  # ValueAccess.accept_deps

        def stored_from_wire(self, wire: list[Any] | None,
                             owned: bool) -> StoredObject | None:
            ...  # StoreAccess.stored_from_wire

        def free_stored(self, stored: StoredObject) -> None:
            ...  # StoreAccess.free_stored

        def cancel(self, task_id: bytes, force: bool) -> None:
            ...  # CallerSide.cancel

    def open_stream(self, task_id: bytes, end: ObjectRef[Any],
                    backpressure: int) -> ObjectRefGenerator[Any]:
        """Register the stream of ``task_id`` (before its call is sent, on the caller's
        thread: a plain thread gets an inlet, see the module docstring)."""
        state = StreamState(task_id, end, backpressure, self._may_use_inlet())
        self.streams[task_id] = state
        entry = self.objects.entries[end.id]

        def on_end(done: ObjectEntry) -> None:
            if done.state == READY:
                total = self.value_of(done)
                with state.cond:
                    state.total = total
            else:
                with state.cond:
                    state.failed = True
            state.wake()

        if not self.objects.add_waiter(entry, on_end):
            on_end(entry)
        return ObjectRefGenerator(self, state)  # type: ignore[arg-type]  # self is a Runtime

    def _may_use_inlet(self) -> bool:
        # Not for a thread running a loop (it will use async for), nor under a fault plan:
        # its faults act on the inbox's messages, and streamed items must meet them too.
        return asyncio._get_running_loop() is None and FAULTS_ENV not in os.environ \
            and threading.get_ident() != self.loop_thread_id

    def open_inlet(self, task_id: bytes) -> Inlet | None:
        """The inlet of stream ``task_id`` (its reading thread, when it first waits)."""
        path = inlet_path(self.address, task_id)
        return Inlet.open(path) if path is not None else None

    def file_datagram(self, datagram: bytes) -> None:
        """An item read from an inlet (the reading thread): filed as if the inbox had it."""
        message = self.auth.open([datagram])
        if message is None:
            return
        try:
            header = unpack(message[0])
        except Exception:  # noqa: BLE001 - a malformed datagram is dropped, like a message
            return
        if header[0] == Kind.GENERATOR_ITEM and not header[5]:
            self._on_generator_item(header, [])

    def close_inlet(self, state: StreamState) -> None:
        """Close a stream's inlet, filing what it still held (any thread)."""
        with state.cond:
            inlet, state.inlet = state.inlet, None
            state.inlet_wanted = False
            if inlet is not None:
                for datagram in inlet.close():
                    self.file_datagram(datagram)

    def close_inlets(self) -> None:
        """Close every stream's inlet (the runtime is closing)."""
        for state in list(self.streams.values()):
            inlet, state.inlet = state.inlet, None
            if inlet is not None:
                inlet.close()

    def _on_generator_item(self, header: list[Any], buffers: list[Any]) -> None:
        _, task_id, index, status, described, deps, producer = header[:7]
        if deps:
            self.accept_deps(deps)
        object_id = object_id_for(task_id, index + 1)
        stored = self.stored_from_wire(described[3], True) if len(described) > 3 else None
        frames = [b.buffer for b in buffers]
        state = self.streams.get(task_id)
        if state is None or (index < state.next_index or index in state.items
                             or state.next_index < 0):
            # Dropped, or a retried producer sending again what we have: let it go (a
            # stored value is freed by complete() finding no entry).
            if stored is not None and object_id in self.objects.entries:
                self.free_stored(stored)
            else:
                self.objects.complete(object_id, READY, described[0], described[1], frames,
                                      stored)
            if state is not None and producer != state.producer:
                self._new_producer(state, producer)
            return
        self.objects.expect(object_id)
        ref: ObjectRef[Any] = ObjectRef(object_id, self.address, self.objects)
        self.objects.complete(object_id, READY if status == TaskStatus.OK else FAILED,
                              described[0], described[1], frames, stored)
        with state.cond:
            state.items[index] = ref
        if producer != state.producer:
            self._new_producer(state, producer)
        state.wake()

    def _new_producer(self, state: StreamState, producer: str) -> None:
        """Items come from a (re)started producer: tell it how far the consumer is."""
        state.producer = producer
        if state.ack_every:
            with state.cond:
                consumed = max(state.next_index, 0)
                state.acked = consumed
            self.send(producer, [Kind.GENERATOR_ACK, state.task_id, consumed])

    def drain_dropped_streams(self) -> None:
        """Forget dropped generators; cancel the producers still running (loop thread)."""
        dropped = self.dropped_streams
        while dropped:
            task_id = dropped.popleft()
            state = self.streams.pop(task_id, None)
            if state is None:
                continue
            inlet, state.inlet = state.inlet, None
            if inlet is not None:
                inlet.close()
            entry = self.objects.entries.get(state.end.id)
            if entry is not None and entry.state == PENDING and not self.closed:
                try:
                    self.cancel(task_id, False)
                except Exception:  # noqa: BLE001 - the call may be gone already
                    pass
            with state.cond:
                state.items.clear()


def wait_mixed(runtime: Runtime, items: list[Any], num_returns: int,
               timeout: float | None) -> list[bool]:
    """``wait()`` over refs and generators: which are ready (a generator is when ``next``
    would not block). Blocks the calling thread, never a loop."""
    import time

    poked = threading.Event()

    def poke(_entry: ObjectEntry | None = None) -> None:
        poked.set()

    states = []
    for item in items:
        if isinstance(item, ObjectRefGenerator):
            state = item._state
            if state.inlet is not None or state.inlet_wanted:
                item._leave_inlet()
            with state.cond:
                state.listeners.append(poke)
            states.append(state)
        else:
            entry = runtime._entry_of(item)
            if runtime.objects.add_waiter(entry, poke):
                runtime.ensure_fetch(item.id, entry)
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        while True:
            ready = [item._next_ready() if isinstance(item, ObjectRefGenerator)
                     else runtime._entry_of(item).state != PENDING for item in items]
            if sum(ready) >= num_returns:
                return ready
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return ready
            poked.wait(remaining)
            poked.clear()
    finally:
        for state in states:
            with state.cond:
                state.listeners.remove(poke)
