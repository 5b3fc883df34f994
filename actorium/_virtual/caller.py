"""The caller side of a virtual actor: finding its activation, and resending refused calls.

A handle of a virtual actor is an ordinary ``ActorHandle`` whose ``ActorState`` carries a
``VirtualCaller``. Calls are numbered and sent exactly as to any actor; what differs:

* **No address yet.** The first call finds no address and is held, as calls to an actor not
  yet placed are; the held call makes this process ask its node once for the key's
  activation (``virtual_activate``: the directory finds it, or activates it on the node with
  the most room). The answer is the activation's worker inbox and epoch, cached from then on.
* **Refused calls (MOVED).** An activation that is passivating (or that lost its key to a
  newer one) answers calls it will never run with MOVED. They go back, in their original
  order, among the held calls, and the directory is asked again, saying which activation is
  gone. Such a call runs exactly once, on the next activation.
* **Order across activations.** Calls move to the next activation only when every call sent
  to the previous one has been answered (run, or refused), so that calls from one process
  still start in the order they were made.
* **A lost worker.** When the worker hosting the activation dies, calls in flight to it fail
  with ``ActorDiedError`` (they may or may not have run: at most once, as for any actor), and
  the next call activates the key again from its last saved state.
"""

from __future__ import annotations

import concurrent.futures
from typing import TYPE_CHECKING, Any

from actorium._core.runtime import Runtime
from actorium._transport import serialization
from actorium._transport.protocol import Kind, unpack
from actorium.exceptions import ActivationError, ActorDiedError

if TYPE_CHECKING:
    from actorium._core.calls import ActorState

_EXTENSION = "virtual_callers"


class VirtualCaller:
    """The caller side of one (type, key) in one process; see the module docstring."""

    __slots__ = ("runtime", "state", "type_name", "key", "code_id", "code", "options",
                 "activating", "pending", "gone", "quiet", "label")

    def __init__(self, runtime: Runtime, state: ActorState, *, type_name: str, key: str,
                 code_id: bytes, code: bytes, options: dict[str, Any]) -> None:
        self.runtime = runtime
        self.state = state
        self.type_name = type_name
        self.key = key
        self.code_id = code_id
        self.code = code
        self.options = options
        self.label = f"{type_name}({key!r})"
        self.activating = False
        self.pending: tuple[str, int] | None = None   # placement waiting for old calls
        self.gone: int | None = None                   # an epoch known to be over
        self.quiet: set[bytes] = set()                 # timer ticks: dropped, never resent

    # ------------------------------------------------------------------ hooks from calls.py
    def unplaced(self, state: ActorState) -> None:
        with self.runtime.actors_lock:
            if self.activating or self.pending is not None or state.address is not None \
                    or not state.buffered:
                return
            self.activating = True
            after = self.gone
        self._ask(after)

    def moved(self, state: ActorState, task_id: bytes) -> None:
        runtime = self.runtime
        dropped = None
        with runtime.actors_lock:
            frames = state.sent.get(task_id)
            if frames is None or task_id not in state.inflight:
                return
            if task_id in self.quiet:
                self.quiet.discard(task_id)
                dropped = state.inflight.pop(task_id)
                del state.sent[task_id]
            else:
                seq = unpack(frames[0])[4]
                position = len(state.buffered)
                while position > 0 and unpack(state.buffered[position - 1][1][0])[4] > seq:
                    position -= 1
                state.buffered.insert(position, (task_id, frames))
            if state.address is not None:
                state.address = None
                self.gone = state.incarnation
        if dropped is not None:
            runtime._inflight_actor.pop(task_id, None)
            runtime._fail_call(task_id, dropped, ActorDiedError(
                f"virtual actor {self.label} was passivated before this timer tick ran"))
        self.unplaced(state)
        self._maybe_place()

    def answered(self, state: ActorState) -> None:
        if self.pending is not None:
            self._maybe_place()

    def ending(self, state: ActorState) -> None:
        if state.address is not None:
            self.gone = state.incarnation

    # ------------------------------------------------------------------ activation
    def _ask(self, after: int | None) -> None:
        code = self.runtime.code_for_node(self.code_id, self.code)
        request = {"actor_id": self.state.actor_id, "type_name": self.type_name,
                   "key": self.key, "code_id": self.code_id, "code": code,
                   "options": self.options}
        try:
            future = self.runtime._start_request("virtual_activate", (request, after))
        except Exception as exc:  # noqa: BLE001 - the runtime is closing: fail what is held
            with self.runtime.actors_lock:
                self.activating = False
            self._fail_held(ActivationError(f"virtual actor {self.label} could not be "
                                            f"activated: {exc}", cause=exc))
            return
        future.add_done_callback(self._activated)

    def _activated(self, done: concurrent.futures.Future[Any]) -> None:
        error = done.exception() if not done.cancelled() else None
        with self.runtime.actors_lock:
            self.activating = False
            if error is None and not done.cancelled():
                described = done.result()
                self.pending = (described["address"], described["incarnation"])
        if done.cancelled() or error is not None:
            failure = error if isinstance(error, ActivationError) else ActivationError(
                f"virtual actor {self.label} could not be activated: {error}", cause=error)
            self._fail_held(failure)
            return
        self._maybe_place()

    def _maybe_place(self) -> None:
        state = self.state
        with self.runtime.actors_lock:
            if self.pending is None:
                return
            held = {task_id for task_id, _frames in state.buffered}
            if any(task_id not in held for task_id in state.inflight):
                return   # calls still out with the previous activation: they answer first
            address, incarnation = self.pending
            self.pending = None
            self.gone = None
        self.runtime._on_actor_placed([Kind.ACTOR_PLACED, state.actor_id, address, incarnation],
                                      [])

    def placed_here(self, address: str, incarnation: int) -> None:
        """The activation lives in this very process (timers, reminders): no need to ask."""
        with self.runtime.actors_lock:
            if self.state.address == address and self.state.incarnation == incarnation:
                return
            self.pending = (address, incarnation)
        self._maybe_place()

    def _fail_held(self, error: BaseException) -> None:
        runtime, state = self.runtime, self.state
        with runtime.actors_lock:
            held, state.buffered = state.buffered, []
            failed = [(task_id, state.inflight.pop(task_id, 1)) for task_id, _frames in held]
            for task_id, _frames in held:
                state.sent.pop(task_id, None)
                self.quiet.discard(task_id)
        for task_id, num_returns in failed:
            runtime._inflight_actor.pop(task_id, None)
            runtime._fail_call(task_id, num_returns, error)

    # ------------------------------------------------------------------ worker loss
    def lost(self, reason: str) -> None:
        """The worker at ``state.address`` died: calls out there fail, the next activates."""
        runtime, state = self.runtime, self.state
        error = ActorDiedError(f"virtual actor {self.label} lost its activation "
                               f"{state.incarnation}: its worker {reason}; the call may or may "
                               f"not have run", actor_id=state.actor_id.hex())
        with runtime.actors_lock:
            held = {task_id for task_id, _frames in state.buffered}
            out = [(t, n) for t, n in state.inflight.items() if t not in held]
            for task_id, _n in out:
                del state.inflight[task_id]
                state.sent.pop(task_id, None)
                self.quiet.discard(task_id)
            if state.address is not None:
                self.gone = state.incarnation
            state.address = None
        for task_id, num_returns in out:
            runtime._inflight_actor.pop(task_id, None)
            runtime._fail_call(task_id, num_returns, error)
        self.unplaced(state)
        self._maybe_place()


class VirtualCallers:
    """Every ``VirtualCaller`` of one process, and the process's WORKER_DIED hook."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.callers: dict[bytes, VirtualCaller] = {}
        previous = runtime._handlers[Kind.WORKER_DIED]

        def worker_died(header: list[Any], buffers: list[Any]) -> None:
            previous(header, buffers)
            address, reason = header[2], header[3]
            for caller in list(self.callers.values()):
                if caller.state.address == address or (
                        caller.pending is not None and caller.pending[0] == address):
                    if caller.pending is not None and caller.pending[0] == address:
                        caller.pending = None
                    caller.lost(reason)

        runtime.register_handler(Kind.WORKER_DIED, worker_died)

    @classmethod
    def of(cls, runtime: Runtime) -> VirtualCallers:
        found = runtime.extensions.get(_EXTENSION)
        if found is None:
            with runtime.actors_lock:
                found = runtime.extensions.get(_EXTENSION)
                if found is None:
                    found = runtime.extensions[_EXTENSION] = cls(runtime)
        assert isinstance(found, VirtualCallers)
        return found

    def caller(self, state: ActorState, **identity: Any) -> VirtualCaller:
        """The caller of ``state``, attached on first use."""
        caller = self.callers.get(state.actor_id)
        if caller is None:
            with self.runtime.actors_lock:
                caller = self.callers.get(state.actor_id)
                if caller is None:
                    caller = VirtualCaller(self.runtime, state, **identity)
                    self.callers[state.actor_id] = caller
                    state.virtual = caller
        return caller


def remote_error(data: bytes) -> BaseException:
    """An exception sent back pickled (the cause of a failed activation)."""
    error = serialization.loads(serialization.PICKLE, data)
    assert isinstance(error, BaseException)
    return error
