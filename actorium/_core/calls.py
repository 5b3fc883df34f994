"""The caller side of tasks and actor calls: submitting, ordering, results, failures.

Part of ``Runtime`` (mixed in). A task goes out once the dependencies this process owns are
ready: on a lease, straight to a task worker this process holds (``leases.py``), or to the
node for the tasks leases do not cover. An actor call goes straight to the actor's worker,
numbered per caller so the actor runs calls in order, or waits here until the node says where
the actor lives.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import os
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from actorium._core.ids import object_id_for
from actorium._core.leases import LeaseTable
from actorium._core.objects import FAILED, PENDING, READY, ObjectEntry, ObjectTable
from actorium._core.ref import ObjectRef
from actorium._transport import serialization
from actorium._transport.channel import Outbox
from actorium._transport.protocol import (
    CANCELLED_CALL,
    FAILED_RETURN,
    Kind,
    TaskStatus,
    pack,
    unpack,
)
from actorium.exceptions import ActorDiedError, PendingCallsLimitExceeded, TaskCancelledError

if TYPE_CHECKING:
    from actorium._store.segment import StoredObject


class VirtualCalls(Protocol):
    """What a virtual actor's caller side does, called here with no lock held."""

    def unplaced(self, state: ActorState) -> None:
        """A call was held for want of an address: make sure an activation is on its way."""

    def moved(self, state: ActorState, task_id: bytes) -> None:
        """The activation refused this call without running it: hold it for the next one."""

    def answered(self, state: ActorState) -> None:
        """A call was answered (a deferred placement may now go ahead)."""

    def ending(self, state: ActorState) -> None:
        """The activation it knows is being ended (``kill()``; actors_lock held): the next
        call must reach a newer one."""


class ActorState:
    """What a caller knows of one actor: where it lives and how its calls are numbered."""

    __slots__ = ("actor_id", "address", "incarnation", "seq", "buffered", "dead", "inflight",
                 "class_name", "forward_to", "max_task_retries", "sent", "retried", "virtual",
                 "max_pending_calls")

    def __init__(self, actor_id: bytes, class_name: str) -> None:
        self.actor_id = actor_id
        self.class_name = class_name
        self.address: str | None = None
        self.incarnation = -1
        self.seq = itertools.count()
        self.buffered: list[tuple[bytes, list[Any]]] = []   # (task_id, frames) until placed
        self.dead: BaseException | None = None
        self.inflight: dict[bytes, int] = {}                  # task_id -> num_returns
        # Set when this handle turned out to name an existing actor (get_if_exists).
        self.forward_to: ActorState | None = None
        # At-least-once delivery (max_task_retries != 0): the frames of every unanswered call,
        # in submission order, so that calls lost with an incarnation go to the next one.
        self.max_task_retries = 0
        self.sent: dict[bytes, list[Any]] = {}
        self.retried: dict[bytes, int] = {}                   # task_id -> resends so far
        # A virtual actor's caller side (``_virtual/caller.py``): asks for an activation when
        # a call finds no address, takes back calls an ended activation refused (MOVED).
        self.virtual: VirtualCalls | None = None
        # The actor's max_pending_calls option (-1: no limit), checked against ``inflight``.
        self.max_pending_calls = -1

    def check_pending_limit(self, method: str) -> None:
        """Raise PendingCallsLimitExceeded if one more call would pass max_pending_calls.

        Counted as Ray counts: the calls this process sent to the actor (through any of
        its handles here) that have not finished yet."""
        state = self
        while state.forward_to is not None:
            state = state.forward_to
        limit = self.max_pending_calls
        if limit > 0 and len(state.inflight) >= limit:
            raise PendingCallsLimitExceeded(
                f"call {self.class_name}.{method} was not sent to actor "
                f"{self.class_name}({state.actor_id.hex()}): {len(state.inflight)} calls from "
                f"this process are unfinished on it, its max_pending_calls is {limit}; wait "
                f"for some results before calling again, or raise the limit with the "
                f"max_pending_calls actor option")

    def may_resend(self, task_id: bytes) -> bool:
        """True if a call lost with its incarnation is to be sent to the next one."""
        limit = self.max_task_retries
        return limit != 0 and task_id in self.sent and (
            limit == -1 or self.retried.get(task_id, 0) < limit)


class CallerSide:
    """Mixin of ``Runtime``: submitting tasks and calling actors."""

    # Tasks go on leases (``leases.py``) unless this is False (the simulator's runtime) or
    # ACTORIUM_LEASES=0; the table is made on the first task.
    use_leases = True
    _lease_table: LeaseTable | None = None

    # Provided by Runtime.
    objects: ObjectTable
    address: str
    node_address: str
    role: str
    loop: asyncio.AbstractEventLoop | None
    loop_thread_id: int
    outbox: Outbox
    actors: dict[bytes, ActorState]
    actors_lock: threading.Lock
    _inflight_actor: dict[bytes, bytes]
    _code_sent: set[bytes]

    if TYPE_CHECKING:  # methods the rest of Runtime provides
        def send(self, address: str, header: list[Any], buffers: Sequence[Any] = ()) -> None:
            ...  # Runtime.send

        def notify_node(self, verb: str, *args: Any) -> None:
            ...  # Runtime.notify_node

        def _start_request(self, verb: str, args: tuple[Any, ...],
                           buffers: Sequence[Any] = ()) -> concurrent.futures.Future[Any]:
            ...  # Runtime._start_request

        def inline_form(self, entry: ObjectEntry) -> list[Any] | None:
            ...  # StoreAccess.inline_form

        def stored_from_wire(self, wire: list[Any] | None,
                             owned: bool) -> StoredObject | None:
            ...  # StoreAccess.stored_from_wire

        def accept_deps(self, deps: list[list[Any]], *,
                        pin: bool = False) -> list[tuple[bytes, ObjectEntry]]:
            ...  # ValueAccess.accept_deps

    # ------------------------------------------------------------------ tasks
    def code_for_node(self, code_id: bytes, code: bytes) -> bytes | None:
        """The pickled code to send along, the first time only."""
        if code_id in self._code_sent:
            return None
        self._code_sent.add(code_id)
        return code

    @property
    def leases(self) -> LeaseTable | None:
        """This process's leases on task workers (None: tasks go to the node)."""
        table = self._lease_table
        if table is None and self.use_leases:
            with self.actors_lock:
                table = self._lease_table
                if table is None:
                    if os.environ.get("ACTORIUM_LEASES", "1") == "0":
                        self.use_leases = False
                        return None
                    table = self._lease_table = LeaseTable(self)  # type: ignore[arg-type]
        return table

    def send_to_node(self, header: list[Any], buffers: Sequence[Any]) -> None:
        """SUBMIT_TASK to the node, with the task's code if the node has not had it yet."""
        if header[4] is not None:
            header[4] = self.code_for_node(header[3], header[4])
        self.send(self.node_address, header, buffers)

    def _send_task(self, header: list[Any], buffers: Sequence[Any]) -> None:
        leases = self.leases
        if leases is None or not leases.submit(header, list(buffers)):
            self.send_to_node(header, buffers)

    def submit_task(self, header: list[Any], buffers: Sequence[Any],
                    deps: list[list[Any]]) -> None:
        """Send the task (``header`` carries its code) once the deps this process owns are
        ready: on a lease, or to the node."""
        waiting = [dep[0] for dep in deps if dep[1] == self.address and dep[3] is None
                   and self.objects.entries[dep[0]].state == PENDING]
        if not waiting:
            self._send_task(header, buffers)
            return
        countdown = [len(waiting)]
        guard = threading.Lock()

        def one_ready(_entry: ObjectEntry) -> None:
            with guard:
                countdown[0] -= 1
                fire = countdown[0] == 0
            if fire:
                self._inline_ready_deps(deps)
                self._send_task(header, buffers)

        for object_id in waiting:
            if not self.objects.add_waiter(self.objects.entries[object_id], one_ready):
                one_ready(self.objects.entries[object_id])

    def _inline_ready_deps(self, deps: list[list[Any]]) -> None:
        for dep in deps:
            entry = self.objects.entries.get(dep[0])
            if dep[3] is None and entry is not None:
                dep[3] = self.inline_form(entry)

    def _on_task_result(self, header: list[Any], buffers: list[Any]) -> None:
        _, task_id, status, returns, deps = header
        leases = self._lease_table
        if leases is not None and leases.on_result(task_id, status):
            return   # handed back unrun: it goes out again
        actor_id = self._inflight_actor.get(task_id)
        if actor_id is not None:
            state = self.actors.get(actor_id)
            if state is not None and state.virtual is not None and status == TaskStatus.MOVED:
                state.virtual.moved(state, task_id)
                return
            if state is not None:
                with self.actors_lock:
                    if status == TaskStatus.ACTOR_DIED and state.dead is None and \
                            state.may_resend(task_id):
                        # The incarnation died under this call: the node's ACTOR_DIED (sent
                        # or on its way) decides whether it goes to a restarted one.
                        return
                    state.inflight.pop(task_id, None)
                    if state.sent:
                        self._drop_resend(state, task_id)
                if state.virtual is not None:
                    state.virtual.answered(state)
            self._inflight_actor.pop(task_id, None)
        if deps:
            self.accept_deps(deps)
        complete = self.objects.complete
        if status == TaskStatus.OK:
            position = 0
            for index, described in enumerate(returns):
                fmt, data, count = described[:3]
                frames = [b.buffer for b in buffers[position:position + count]]
                position += count
                # A 4th field: the worker wrote the value into the store, for us (the owner).
                stored = self.stored_from_wire(described[3], True) if len(described) > 3 \
                    else None
                outcome = READY
                if fmt & FAILED_RETURN:  # a generator with num_returns=N failed before it
                    fmt, outcome = fmt & ~FAILED_RETURN, FAILED
                complete(object_id_for(task_id, index), outcome, fmt, data, frames, stored)
            if deps:
                self._keep_contained(task_id, len(returns), deps)
        else:
            fmt, data, _count = returns[0]
            for index in range(len(returns)):
                complete(object_id_for(task_id, index), FAILED, fmt, data, [])

    def task_result_off_loop(self, header: list[Any], buffers: list[Any]) -> bool:
        """``_on_task_result`` on a thread blocked in ``get()`` that read it itself (see
        ``Inbox.lead``), for the common case only: a plain result or error with no refs in
        it, not in the store, of an actor call (tasks' results feed the lease table, on the
        loop), not of a virtual actor, whose waiters may all be woken from any thread. False
        (nothing done): the loop handles it as usual."""
        _, task_id, status, returns, deps = header
        if deps or (status != TaskStatus.OK and status != TaskStatus.ERROR):
            return False
        actor_id = self._inflight_actor.get(task_id)
        if actor_id is None:
            return False
        state = self.actors.get(actor_id)
        if state is None or state.virtual is not None:
            return False
        values: list[tuple[bytes, int, int, Any, list[Any]]] = []
        if status == TaskStatus.OK:
            position = 0
            for index, described in enumerate(returns):
                if len(described) > 3:
                    return False   # in the store: the loop maps it
                fmt, data, count = described
                outcome = READY
                if fmt & FAILED_RETURN:
                    fmt, outcome = fmt & ~FAILED_RETURN, FAILED
                values.append((object_id_for(task_id, index), outcome, fmt, data,
                               [b.buffer for b in buffers[position:position + count]]))
                position += count
        else:
            fmt, data, _count = returns[0]
            values = [(object_id_for(task_id, index), FAILED, fmt, data, [])
                      for index in range(len(returns))]
        wake = self.objects.complete_off_loop(values)
        if wake is None:
            return False
        with self.actors_lock:
            state.inflight.pop(task_id, None)
            if state.sent:
                self._drop_resend(state, task_id)
        self._inflight_actor.pop(task_id, None)
        for waiter, entry in wake:
            waiter(entry)
        return True

    def _keep_contained(self, task_id: bytes, count: int, deps: list[list[Any]]) -> None:
        """Refs inside a task's result live as long as the result does (loop thread).

        The pins ``accept_deps`` took last only until the next drain, but the caller may
        unpickle the result much later; without this, a ref the task returned could be
        dropped (and its value freed) before the caller ever sees it.
        """
        held: list[ObjectRef[Any]] = [ObjectRef(object_id, owner, self.objects)
                                      for object_id, owner, *_ in deps]
        for index in range(count):
            entry = self.objects.entries.get(object_id_for(task_id, index))
            if entry is not None and entry.state == READY:
                entry.contained = held

    # ------------------------------------------------------------------ actors (caller side)
    def actor_state(self, actor_id: bytes, class_name: str) -> ActorState:
        state = self.actors.get(actor_id)
        if state is None:
            with self.actors_lock:
                state = self.actors.get(actor_id)
                if state is None:
                    state = ActorState(actor_id, class_name)
                    self.actors[actor_id] = state
        return state

    def call_actor(self, state: ActorState, task_id: bytes, method: str, num_returns: int,
                   fmt: int, data: bytes, buffers: Sequence[Any], deps: list[list[Any]],
                   group: str | None = None, events: bool | None = None) -> None:
        """Send ACTOR_CALL to the actor's worker, or keep it until the actor is placed.

        ``group`` is a concurrency group named for this call (``.options(concurrency_group=)``),
        ``events`` its ``.options(enable_task_events=)``; each travels as an extra header field
        only when given."""
        while state.forward_to is not None:
            state = state.forward_to
        virtual = None
        with self.actors_lock:
            if state.dead is not None:
                dead = state.dead
            else:
                dead = None
                seq = next(state.seq)
                header = [Kind.ACTOR_CALL, task_id, state.actor_id, self.address, seq,
                          state.incarnation, method, num_returns, fmt, data, len(buffers), deps]
                if group is not None or events is not None:
                    header.append(group)
                if events is not None:
                    header.append(events)
                frames = [pack(header), *buffers]
                state.inflight[task_id] = num_returns
                self._inflight_actor[task_id] = state.actor_id
                virtual = state.virtual
                if state.max_task_retries or virtual is not None:
                    state.sent[task_id] = frames
                address = state.address
                if address is None:
                    state.buffered.append((task_id, frames))
        if dead is not None:
            self._fail_call(task_id, num_returns, dead)
            return
        if address is not None:
            self.outbox.send(address, frames)
        elif virtual is not None:
            virtual.unplaced(state)

    def _fail_call(self, task_id: bytes, num_returns: int, error: BaseException) -> None:
        data = serialization.dumps(error)[1]
        for index in range(max(num_returns, 1)):
            object_id = object_id_for(task_id, index)
            if self.loop is not None and threading.get_ident() != self.loop_thread_id:
                # Entries complete on the loop thread only: their waiters may be futures.
                self.loop.call_soon_threadsafe(self.objects.complete, object_id, FAILED,
                                               serialization.PICKLE, data, [])
            else:
                self.objects.complete(object_id, FAILED, serialization.PICKLE, data, [])

    def _on_actor_placed(self, header: list[Any], _buffers: list[Any]) -> None:
        _, actor_id, address, incarnation = header[:4]
        state = self.actors.get(actor_id)
        if state is not None and len(header) > 4 and header[4] != actor_id:
            self._forward(state, header[4], address, incarnation)
            return
        if state is None or address is None or incarnation < state.incarnation:
            return
        with self.actors_lock:
            if state.incarnation != incarnation:
                # A new incarnation numbers calls from zero again; rewrite what is buffered.
                state.incarnation = incarnation
                state.seq = itertools.count()
                rebuffered = []
                for task_id, frames in state.buffered:
                    call = unpack(frames[0])
                    call[4] = next(state.seq)
                    call[5] = incarnation
                    renumbered = [pack(call), *frames[1:]]
                    rebuffered.append((task_id, renumbered))
                    if task_id in state.sent:
                        state.sent[task_id] = renumbered
                state.buffered = rebuffered
            state.address = address
            state.dead = None
            buffered, state.buffered = state.buffered, []
        for _task_id, frames in buffered:
            self.outbox.send(address, frames)

    def _forward(self, state: ActorState, target_id: bytes, address: str | None,
                 incarnation: int) -> None:
        """Make ``state`` (a handle's) send its calls to the existing actor ``target_id``."""
        target = self.actor_state(target_id, state.class_name)
        with self.actors_lock:
            state.forward_to = target
            buffered, state.buffered = state.buffered, []
            inflight, state.inflight = state.inflight, {}
        if address is not None and target.address is None:
            self._on_actor_placed([Kind.ACTOR_PLACED, target_id, address, incarnation], [])
        for task_id, frames in buffered:
            call = unpack(frames[0])
            self.call_actor(target, task_id, call[6], inflight.get(task_id, call[7]), call[8],
                            call[9], frames[1:], call[11], *call[12:14])

    def _on_actor_died(self, header: list[Any], _buffers: list[Any]) -> None:
        _, actor_id, reason, restarting, error_data = header
        state = self.actors.get(actor_id)
        if state is None:
            return
        error = serialization.loads(serialization.PICKLE, error_data) if error_data else \
            ActorDiedError(reason, actor_id=actor_id.hex())
        with self.actors_lock:
            if restarting:
                # Calls still held here never reached the dead incarnation: they wait for the
                # restarted one. Calls already sent may or may not have run: they fail
                # (at-most-once), or with max_task_retries go first to the next incarnation,
                # in their submission order (at-least-once).
                held = {task_id for task_id, _frames in state.buffered}
                lost = {t: n for t, n in state.inflight.items() if t not in held}
                resend = [t for t in lost if state.may_resend(t)]
                for task_id in resend:
                    del lost[task_id]
                    state.retried[task_id] = state.retried.get(task_id, 0) + 1
                state.buffered[:0] = [(t, state.sent[t]) for t in resend]
                state.inflight = {t: n for t, n in state.inflight.items() if t not in lost}
                for task_id in lost:
                    state.sent.pop(task_id, None)
                    state.retried.pop(task_id, None)
                state.address = None
            else:
                lost, state.inflight = state.inflight, {}
                state.buffered = []
                state.sent, state.retried = {}, {}
                state.dead = error
        for task_id, num_returns in lost.items():
            self._inflight_actor.pop(task_id, None)
            self._fail_call(task_id, num_returns, error)

    def prepare_kill(self, state: ActorState, no_restart: bool) -> bytes:
        """Before asking the node to kill an actor: stop sending it calls from here.

        Returns the id to kill. Later calls fail at once (``no_restart``) or wait for the
        restarted actor, so none can reach the old instance after ``kill()`` returned.
        """
        while state.forward_to is not None:
            state = state.forward_to
        with self.actors_lock:
            if state.virtual is not None:
                # A virtual actor is never dead: this activation ends, the next call makes one.
                state.virtual.ending(state)
                state.address = None
            elif no_restart:
                state.dead = ActorDiedError(
                    f"actor {state.class_name}({state.actor_id.hex()}) died: it was killed "
                    f"with actorium.kill()", actor_id=state.actor_id.hex())
            else:
                state.address = None
        return state.actor_id

    def cancel(self, task_id: bytes, force: bool) -> None:
        """Cancel a task or actor call this process submitted (does not wait)."""
        actor_id = self._inflight_actor.get(task_id)
        if actor_id is None:
            leases = self._lease_table
            if leases is None or not leases.cancel(task_id, force):
                self.notify_node("cancel_task", task_id, force)
            return
        if force:
            raise ValueError("force=True is not supported for actor calls; use kill() to end "
                             "the actor")
        state = self.actors.get(actor_id)
        if state is None:
            return
        with self.actors_lock:
            held = self._cancel_held_call(state, task_id)
            address = state.address
        state.sent.pop(task_id, None)
        if held is not None:
            self._inflight_actor.pop(task_id, None)
            self._fail_call(task_id, held, TaskCancelledError(
                f"call to {state.class_name} was cancelled before it was sent"))
        elif address is not None:
            self.send(address, [Kind.CANCEL_TASK, task_id, False, actor_id])

    def _drop_resend(self, state: ActorState, task_id: bytes) -> None:
        """A call answered after it was queued for resending must not run again."""
        state.sent.pop(task_id, None)
        if state.retried.pop(task_id, None) is not None:
            self._cancel_held_call(state, task_id)

    def _cancel_held_call(self, state: ActorState, task_id: bytes) -> int | None:
        """Turn a call still held here into a skipped one; its num_returns, or None."""
        for index, (held_id, frames) in enumerate(state.buffered):
            if held_id == task_id:
                call = unpack(frames[0])
                call[6] = CANCELLED_CALL
                state.buffered[index] = (task_id, [pack(call), *frames[1:]])
                return state.inflight.pop(task_id, 1)
        return None

    def subscribe_actor(self, actor_id: bytes) -> None:
        """Ask the node where an actor lives (and to tell us when it moves)."""
        future = self._start_request("subscribe_actor", (actor_id, self.address))

        def apply(done: concurrent.futures.Future[Any]) -> None:
            if done.cancelled() or done.exception() is not None or done.result() is None:
                return
            described = done.result()
            if described.get("address"):
                self._on_actor_placed([Kind.ACTOR_PLACED, actor_id, described["address"],
                                       described["incarnation"]], [])

        future.add_done_callback(apply)

    def forget_actor(self, actor_id: bytes) -> None:
        self.actors.pop(actor_id, None)
