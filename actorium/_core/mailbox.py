"""An actor living in a worker: its instance and its mailbox.

Order: each caller numbers its calls (``seq``) per actor incarnation. Calls can arrive out of
order (a caller's threads use different sockets), so the mailbox holds early ones back and
releases calls to run strictly in each caller's order.

Concurrency:

* a *sync* actor (no ``async def`` method) runs up to ``max_concurrency`` (default 1) calls at
  once on the worker's thread pool, never on the event loop;
* an *async* actor runs up to ``max_concurrency`` (default 1000) calls at once as asyncio tasks
  on the worker's loop; its plain methods run on the loop too, as in Ray.

Concurrency groups (Ray's ``concurrency_groups={"io": 2}`` with ``@method(concurrency_group=)``)
split those limits: each group is a *lane* with its own queue and limit, and the methods of no
group run in the default lane, limited by ``max_concurrency``. The actor is its own default
lane (same attribute names as ``_Lane``), so an actor without groups — nearly all of them —
carries no extra object. Calls are put in order per caller first, then into their lane, so
each lane runs its calls in each caller's order.

While the constructor runs, calls wait in the mailbox; if it raises, the actor is dead and every
waiting and future call fails with ``ActorDiedError`` carrying the constructor's exception.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections import deque
from enum import Enum
from typing import TYPE_CHECKING, Any

from actorium._core import execution, interrupt
from actorium._core.actor_exit import ActorExit, exit_from
from actorium._core.context import Execution, current_execution
from actorium._core.options import DEFAULT_CONCURRENCY_GROUP
from actorium._transport import serialization
from actorium._transport.protocol import CANCELLED_CALL, TaskStatus
from actorium.exceptions import ActorDiedError, TaskCancelledError, make_task_error

if TYPE_CHECKING:
    from actorium._core.checkpoint import Checkpointer
    from actorium._core.runtime import Runtime
    from actorium._core.threads import SyncThreadPool


# Shared stand-in for the call queue of an actor that was never called (saves ~600 B each).
_EMPTY_QUEUE: deque[Any] = deque(maxlen=0)


class ActorLife(Enum):
    CREATING = "creating"
    ALIVE = "alive"
    STOPPING = "stopping"   # finishing the calls it runs; refuses and fails the others
    DEAD = "dead"


class Call:
    """One ACTOR_CALL message, decoded."""

    __slots__ = ("task_id", "caller", "seq", "method", "num_returns", "fmt", "data", "buffers",
                 "deps", "entries", "task", "incarnation", "group", "events")

    def __init__(self, header: list[Any], buffers: list[Any]) -> None:
        (_, self.task_id, _actor, self.caller, self.seq, self.incarnation, self.method,
         self.num_returns, self.fmt, self.data, _count, self.deps) = header[:12]
        # The concurrency group the caller named for this call (.options()), if any.
        self.group: str | None = header[12] if len(header) > 12 else None
        # Its .options(enable_task_events=...), if any (None: the method's or actor's).
        self.events: bool | None = header[13] if len(header) > 13 else None
        self.buffers = buffers
        # The entries of the refs among the arguments, noted on the loop thread at arrival.
        self.entries: list[Any] = []
        self.task: asyncio.Task[Any] | None = None

    def unpin_args(self, runtime: Runtime) -> None:
        """The call is over (run, failed or cancelled): its argument objects may go.

        Idempotent, because a killed async call is failed by ``die`` and then unwinds.
        """
        entries, self.entries = self.entries, []
        runtime.unpin_deps(entries)


class _Lane:
    """A named concurrency group's queue of calls, how many of them run, and its limit."""

    __slots__ = ("name", "_queue", "_running", "max_concurrency")

    def __init__(self, name: str, max_concurrency: int) -> None:
        self.name = name
        self._queue: deque[Call] = _EMPTY_QUEUE
        self._running = 0
        self.max_concurrency = max_concurrency


class _CallerOrder:
    __slots__ = ("next_seq", "held")

    def __init__(self) -> None:
        self.next_seq = 0
        self.held: dict[int, Call] = {}


class _Retry:
    """The retries left to one call whose method has ``retry_exceptions`` (any thread)."""

    __slots__ = ("classes", "left", "actor")

    def __init__(self, classes: tuple[type[BaseException], ...], left: int,
                 actor: HostedActor) -> None:
        self.classes = classes
        self.left = left
        self.actor = actor

    def take(self, exc: BaseException, task_id: bytes) -> bool:
        """True (one retry used) if ``exc`` is to be retried: one of the classes, the call
        not cancelled, the actor still taking calls, and retries left."""
        if self.left == 0 or not isinstance(exc, self.classes) or isinstance(
                exc, (SystemExit, TaskCancelledError, asyncio.CancelledError)):
            return False
        if interrupt.requested(task_id) or self.actor.life is not ActorLife.ALIVE:
            return False
        self.left -= 1
        return True


class HostedActor:
    """An actor instance and the queue of calls it has still to run.

    Tens of thousands of these live in one host process, so the per-caller order book and the
    call registries are created on first use and the class uses ``__slots__``.
    """

    __slots__ = ("runtime", "pool", "actor_id", "class_name", "is_async", "max_concurrency",
                 "incarnation", "instance", "life", "death", "_orders", "_queue", "_running",
                 "_lock", "_async_calls", "_sync_threads", "calls_done", "resources",
                 "accelerator_ids", "placement", "checkpointer", "not_run_status", "_lanes",
                 "_method_lanes", "events", "method_events", "options", "methods", "cls")

    def __init__(self, runtime: Runtime, pool: SyncThreadPool, actor_id: bytes, class_name: str,
                 is_async: bool, max_concurrency: int, incarnation: int) -> None:
        self.runtime = runtime
        self.pool = pool
        self.actor_id = actor_id
        self.class_name = class_name
        self.is_async = is_async
        self.max_concurrency = max_concurrency
        self.incarnation = incarnation
        self.instance: Any = None
        self.life = ActorLife.CREATING
        self.death: ActorDiedError | None = None
        self._orders: dict[str, _CallerOrder] | None = None
        self._queue: deque[Call] = _EMPTY_QUEUE   # replaced by a real deque on first call
        self._running = 0
        self._lock = threading.Lock()   # queue and running count are shared with pool threads
        self._async_calls: dict[bytes, Call] | None = None
        self._sync_threads: dict[bytes, int] | None = None
        self.calls_done = 0
        self.resources: dict[str, float] | None = None   # what it reserved, if anything
        self.accelerator_ids: dict[str, list[str]] | None = None   # GPU ids it was given
        self.placement: dict[str, Any] | None = None   # its placement group (wire strategy)
        self.checkpointer: Checkpointer | None = None     # if it defines checkpoint hooks
        # enable_task_events: the actor's, and the methods that override it (@method).
        self.events = True
        self.method_events: dict[str, bool] | None = None
        # Its creation options (wire form: name, max_task_retries...) and methods (name ->
        # num_returns), for get_runtime_context().current_actor / get_actor_name().
        self.options: dict[str, Any] = {}
        self.methods: dict[str, int] = {}
        self.cls: type | None = None   # its class, once loaded (get_task_function_name())
        # How calls that will never run are answered: ACTOR_DIED, or MOVED when a virtual
        # actor's activation ends (its caller sends them on to the next activation).
        self.not_run_status: int = TaskStatus.ACTOR_DIED
        self._lanes: dict[str, _Lane] | None = None          # its named concurrency groups
        self._method_lanes: dict[str, _Lane] | None = None   # method -> the lane it names

    def records_events(self, call: Call) -> bool:
        """Whether ``call`` goes into the timeline and the state API (enable_task_events):
        as its ``.options()`` say, else its method's ``@method``, else the actor's option."""
        if call.events is not None:
            return call.events
        if self.method_events is not None:
            return self.method_events.get(call.method, self.events)
        return self.events

    def set_concurrency_groups(self, groups: dict[str, int],
                               method_groups: dict[str, str]) -> None:
        """Give the actor its named concurrency groups (before any call is delivered)."""
        self._lanes = {name: _Lane(name, limit) for name, limit in groups.items()}
        self._method_lanes = {method: self._lanes[group]
                              for method, group in method_groups.items()}

    def _all_lanes(self) -> list[HostedActor | _Lane]:
        return [self, *self._lanes.values()] if self._lanes else [self]

    def pending_calls(self) -> int:
        """Calls queued or running here (for the dashboard's queue lengths)."""
        return sum(len(lane._queue) + lane._running for lane in self._all_lanes())

    @property
    def label(self) -> str:
        return f"{self.class_name}({self.actor_id.hex()})"

    # ------------------------------------------------------------------ arrival and order
    def deliver(self, call: Call) -> None:
        """Accept a call from the inbox (loop thread)."""
        if self.life is ActorLife.DEAD or self.life is ActorLife.STOPPING:
            self._fail(call, self._death_error(), self.not_run_status)
            return
        orders = self._orders
        if orders is None:
            orders = self._orders = {}
        order = orders.get(call.caller)
        if order is None:
            order = orders[call.caller] = _CallerOrder()
        if call.seq != order.next_seq:
            if call.seq > order.next_seq:
                order.held[call.seq] = call
            return  # a duplicate of something already run
        ready = [call]
        order.next_seq += 1
        while order.held:
            following = order.held.pop(order.next_seq, None)
            if following is None:
                break
            ready.append(following)
            order.next_seq += 1
        if self._lanes is None and not any(c.group for c in ready):
            with self._lock:
                if self._queue is _EMPTY_QUEUE:
                    self._queue = deque()
                self._queue.extend(ready)
            if self.life is ActorLife.ALIVE:
                self._dispatch()
            return
        self._deliver_to_lanes(ready)

    def _lane_of(self, call: Call) -> HostedActor | _Lane | None:
        """The lane a call runs in: the group it was sent with, else its method's, else the
        default; None for a group the actor does not have."""
        group = call.group
        if group is None:
            lane = (self._method_lanes or {}).get(call.method)
            return self if lane is None else lane
        if group == DEFAULT_CONCURRENCY_GROUP:
            return self
        return (self._lanes or {}).get(group)

    def _deliver_to_lanes(self, ready: list[Call]) -> None:
        unknown: list[Call] = []
        touched: list[HostedActor | _Lane] = []
        with self._lock:
            for call in ready:
                lane = self._lane_of(call)
                if lane is None:
                    unknown.append(call)
                    continue
                if lane._queue is _EMPTY_QUEUE:
                    lane._queue = deque()
                lane._queue.append(call)
                if lane not in touched:
                    touched.append(lane)
        for call in unknown:
            groups = ", ".join([DEFAULT_CONCURRENCY_GROUP, *sorted(self._lanes or {})])
            self._fail(call, ValueError(
                f"actor {self.label} has no concurrency group {call.group!r} (named for a call "
                f"of {call.method!r}); its groups are: {groups}"))
        if self.life is ActorLife.ALIVE:
            for lane in touched:
                self._dispatch(lane)

    def _dispatch_all(self) -> None:
        for lane in self._all_lanes():
            if lane._queue:
                self._dispatch(lane)

    def _dispatch(self, lane: HostedActor | _Lane | None = None) -> None:
        """Start as many of the lane's queued calls as its limit allows (loop thread)."""
        if lane is None:
            lane = self
        if self.is_async:
            loop = asyncio.get_running_loop()
            with self._lock:
                while lane._queue and lane._running < lane.max_concurrency:
                    call = lane._queue.popleft()
                    if call.method == CANCELLED_CALL:
                        call.unpin_args(self.runtime)
                        continue  # cancelled before it was sent; its caller already knows
                    lane._running += 1
                    call.task = loop.create_task(self._run_async(call, lane))
                    if self._async_calls is None:
                        self._async_calls = {}
                    self._async_calls[call.task_id] = call
                if not lane._queue:
                    lane._queue = _EMPTY_QUEUE  # idle actors should not keep a deque block
            return
        with self._lock:
            start = min(len(lane._queue), lane.max_concurrency - lane._running)
            lane._running += max(start, 0)
        for _ in range(start):
            self.pool.submit(self._drain_sync, lane)

    # ------------------------------------------------------------------ running
    def _method(self, name: str) -> Any:
        try:
            return getattr(self.instance, name)
        except AttributeError:
            raise AttributeError(
                f"actor {self.label} has no method {name!r}") from None

    def _drain_sync(self, lane: HostedActor | _Lane) -> None:
        """Run the lane's queued calls one after another on this pool thread."""
        runtime = self.runtime
        ident = threading.get_ident()
        while True:
            with self._lock:
                if not lane._queue or self.life is not ActorLife.ALIVE:
                    lane._running -= 1
                    if not lane._queue:
                        lane._queue = _EMPTY_QUEUE
                    return
                call = lane._queue.popleft()
                if call.method == CANCELLED_CALL:
                    call.unpin_args(runtime)
                    continue  # cancelled before it was sent; its caller already knows
                if self._sync_threads is None:
                    self._sync_threads = {}
                self._sync_threads[call.task_id] = ident
            token = current_execution.set(Execution(call.task_id, self.actor_id, call.method,
                                                    self.incarnation, self.resources,
                                                    self.accelerator_ids, self.placement,
                                                    self.records_events(call)))
            try:
                execution.wait_deps_blocking(runtime, call.entries)

                retry = self._retry(call)
                failure: list[BaseException] = []

                def invoke(call: Call = call, failure: list[BaseException] = failure) -> Any:
                    method = self._method(call.method)
                    args, kwargs = execution.rebuild_args(runtime, call.fmt, call.data,
                                                          call.buffers, bool(call.deps))
                    try:
                        return method(*args, **kwargs)
                    except SystemExit as exc:
                        raise self.exiting(exc) from None
                    except BaseException as exc:
                        failure.append(exc)
                        raise

                def again(exc: Exception, call: Call = call,
                          retry: _Retry | None = retry) -> Any:
                    """A generator raised: the generator of a retry, or None."""
                    if retry is None or not retry.take(exc, call.task_id):
                        return None
                    return invoke(call)

                while True:
                    failure.clear()
                    outcome = execution.run_and_pack(
                        runtime, f"{self.class_name}.{call.method}", call.num_returns, invoke,
                        owner=call.caller, task_id=call.task_id,
                        again=again if retry is not None else None,
                        exiting=self._generator_exited)
                    if not failure or retry is None or not retry.take(failure[0], call.task_id):
                        break
                if interrupt.settle(call.task_id) and outcome[0] == TaskStatus.OK:
                    # As in Ray: a call cancelled while it ran fails even if it returned.
                    outcome = self._error_outcome(TaskCancelledError(
                        f"{self.class_name}.{call.method} was cancelled while it ran"),
                        call.num_returns)
            finally:
                current_execution.reset(token)
                call.unpin_args(runtime)
                with self._lock:
                    if self._sync_threads is not None:
                        self._sync_threads.pop(call.task_id, None)
                    interrupt.settle(call.task_id)
            self.calls_done += 1
            checkpointer = self.checkpointer
            if checkpointer is not None:
                instance = self.instance
                if checkpointer.call_done() and instance is not None and not self.dead:
                    # Saved before the result leaves: a caller that saw it knows it is saved.
                    checkpointer.write(checkpointer.capture(instance))
                if self.dead:
                    # Killed while this call ran: its effect cannot be saved any more, so it
                    # must not look done (a retrying caller sends it to the next incarnation).
                    outcome = self._error_outcome(self._death_error(), call.num_returns,
                                                  TaskStatus.ACTOR_DIED)
            execution.send_result(runtime, call.caller, call.task_id, outcome)

    async def _run_async(self, call: Call, lane: HostedActor | _Lane) -> None:
        runtime = self.runtime
        current_execution.set(Execution(call.task_id, self.actor_id, call.method,
                                        self.incarnation, self.resources, self.accelerator_ids,
                                        self.placement, self.records_events(call)))
        name = f"{self.class_name}.{call.method}"
        try:
            if call.entries:
                await execution.wait_deps(runtime, call.entries)

            retry = self._retry(call)
            failure: list[BaseException] = []

            async def invoke() -> Any:
                method = self._method(call.method)
                args, kwargs = execution.rebuild_args(runtime, call.fmt, call.data,
                                                      call.buffers, bool(call.deps))
                try:
                    result = method(*args, **kwargs)
                    # (asyncio.iscoroutine is also true of plain generators on Python 3.11)
                    if asyncio.iscoroutine(result) and not inspect.isgenerator(result):
                        try:
                            result = await result
                        except asyncio.CancelledError:
                            if not interrupt.requested(call.task_id):
                                raise  # not cancel(): the actor is going away
                            raise self._cancelled_error(name) from None
                except SystemExit as exc:
                    raise self.exiting(exc) from None
                except BaseException as exc:
                    failure.append(exc)
                    raise
                return result

            async def again(exc: Exception) -> Any:
                """An async generator raised: the async generator of a retry, or None."""
                if retry is None or not retry.take(exc, call.task_id):
                    return None
                return await invoke()

            while True:
                failure.clear()
                outcome = await execution.run_and_pack_async(
                    runtime, name, call.num_returns, invoke, owner=call.caller,
                    task_id=call.task_id, again=again if retry is not None else None,
                    exiting=self._generator_exited)
                if not failure or retry is None or not retry.take(failure[0], call.task_id):
                    break
            if interrupt.settle(call.task_id) and outcome[0] == TaskStatus.OK:
                # The method caught the CancelledError and returned: cancelled all the same.
                outcome = self._error_outcome(self._cancelled_error(name), call.num_returns)
        except asyncio.CancelledError:
            outcome = self._error_outcome(TaskCancelledError(f"{name} was cancelled"),
                                          call.num_returns)
        finally:
            interrupt.settle(call.task_id)
            lane._running -= 1
            call.unpin_args(runtime)
            if self._async_calls is not None:
                self._async_calls.pop(call.task_id, None)
        self.calls_done += 1
        checkpointer = self.checkpointer
        if checkpointer is not None and checkpointer.call_done() and self.instance is not None:
            state = checkpointer.capture(self.instance)
            await asyncio.get_running_loop().run_in_executor(None, checkpointer.write, state)
        if self.life is not ActorLife.DEAD:
            execution.send_result(runtime, call.caller, call.task_id, outcome)
        if lane._queue and self.life is ActorLife.ALIVE:
            self._dispatch(lane)

    def _retry(self, call: Call) -> _Retry | None:
        """How ``call`` is run again when it raises: ``@method(retry_exceptions=...)`` up to
        the actor's ``max_task_retries`` (-1: without end), as in Ray; None if it is not."""
        wanted = (self.options.get("method_retry_exceptions") or {}).get(call.method)
        budget = self.options.get("max_task_retries", 0) or 0
        if not wanted or budget == 0:
            return None
        if wanted is True:
            classes: tuple[type[BaseException], ...] = (Exception,)
        else:
            classes = serialization.loads(serialization.PICKLE, wanted)
        return _Retry(classes, budget, self)

    # ------------------------------------------------------------------ life and death
    def constructed(self, instance: Any) -> None:
        """The constructor returned: start running calls (loop thread)."""
        self.instance = instance
        self.life = ActorLife.ALIVE
        self._dispatch_all()

    def stop_taking_calls(self, error: ActorDiedError) -> None:
        """Graceful stop, first half: fail every call not yet started; running ones finish.

        ``running`` tells when they have; ``die`` ends the actor (loop thread).
        """
        if self.life is ActorLife.DEAD:
            return
        with self._lock:
            self.life = ActorLife.STOPPING
            self.death = self.death or error
        self._fail_waiting_calls(error)

    def _fail_waiting_calls(self, error: ActorDiedError) -> None:
        """Fail the calls queued or held for ordering: none of them will run (loop thread)."""
        waiting: list[Call] = []
        with self._lock:
            for lane in self._all_lanes():
                waiting.extend(lane._queue)
                lane._queue.clear()
        for order in (self._orders or {}).values():
            waiting.extend(order.held.values())
            order.held.clear()
        for call in waiting:
            self._fail(call, error, self.not_run_status)

    def resume(self) -> None:
        """Undo ``stop_taking_calls`` (a virtual actor whose passivation could not save its
        state stays active; the calls it refused meanwhile come back)."""
        if self.life is ActorLife.STOPPING:
            self.life = ActorLife.ALIVE
            self.death = None
            self._dispatch_all()

    def exiting(self, exc: SystemExit) -> ActorExit:
        """One of its methods raised ``SystemExit`` (``exit_actor()`` or ``sys.exit()``).

        Runs no further call, tells the node (a normal exit or a crash, see ``actor_exit``)
        and returns what the exiting call fails with (any thread).
        """
        ending = exit_from(self.label, self.actor_id, exc)
        ending.told = True
        self.exit_after_this_call(ending.error)
        verb = "actor_exited" if ending.normal else "actor_crashed"
        self.runtime.notify_node(verb, self.actor_id, self.incarnation, ending.reason)
        return ending

    def _generator_exited(self, exc: SystemExit) -> ActorExit:
        """``exit_actor()`` or ``sys.exit()`` in a generator method's body, after the method
        returned its generator: the actor ends as when any other method exits, and the
        stream's next item is the ``ActorDiedError`` (any thread). An exit already told (the
        method itself exited, ``exiting``) is not told twice."""
        if isinstance(exc, ActorExit) and exc.told:
            return exc
        return self.exiting(exc)

    def exit_after_this_call(self, error: ActorDiedError) -> None:
        """``exit_actor()`` from one of its calls (any thread): run no further call."""
        with self._lock:
            if self.life is ActorLife.DEAD:
                return
            self.life = ActorLife.STOPPING   # pool threads check this before the next call
            self.death = error
        loop = self.runtime.loop
        if loop is not None:
            loop.call_soon_threadsafe(self.stop_taking_calls, error)

    @property
    def dead(self) -> bool:
        """True once the actor is dead (it may change while a pool thread runs a call)."""
        return self.life is ActorLife.DEAD

    @property
    def running(self) -> int:
        """How many calls are running right now."""
        if self._lanes is None:
            return self._running
        return sum(lane._running for lane in self._all_lanes())

    def die(self, error: ActorDiedError) -> None:
        """Mark the actor dead and fail every call it has not finished (loop thread)."""
        if self.life is ActorLife.DEAD:
            return
        self.life = ActorLife.DEAD
        self.death = error
        self._fail_waiting_calls(error)
        for call in list((self._async_calls or {}).values()):
            if call.task is not None:
                call.task.cancel()
            self._fail(call, error, TaskStatus.ACTOR_DIED)
        self.instance = None

    def cancel(self, task_id: bytes, force: bool) -> bool:
        """Cancel a queued or running call; True if it was found here."""
        call: Call | None = None
        with self._lock:
            for lane in self._all_lanes():
                for queued in lane._queue:
                    if queued.task_id == task_id:
                        call = queued
                        lane._queue.remove(queued)
                        break
                if call is not None:
                    break
            thread_ident = (self._sync_threads or {}).get(task_id)
            if thread_ident is not None:
                # Marked under the lock the call's end takes, so the mark cannot outlive it.
                interrupt.request(task_id)
        if call is not None:
            self._fail(call, TaskCancelledError(f"{self.class_name}.{call.method} was cancelled"))
            return True
        running = (self._async_calls or {}).get(task_id)
        if running is not None and running.task is not None:
            interrupt.request(task_id)
            running.task.cancel()
            return True
        if thread_ident is not None:
            # Never interrupted (the actor's state would be left half-changed): marked above,
            # so the method can poll is_canceled(), and answered TaskCancelledError when done.
            return True
        return False

    def _death_error(self) -> ActorDiedError:
        return self.death or ActorDiedError(f"actor {self.label} is dead",
                                            actor_id=self.actor_id.hex())

    def _error_outcome(self, error: BaseException, num_returns: int,
                       status: int = TaskStatus.ERROR,
                       ) -> tuple[int, list[list[Any]], list[Any], list[Any]]:
        data = serialization.dumps(error)[1]
        return status, [[serialization.PICKLE, data, 0]] * max(num_returns, 1), [], []

    @staticmethod
    def _cancelled_error(name: str) -> BaseException:
        """The error of a running async call that was cancelled: as in Ray, both a TaskError
        (``except RayTaskError``) and a TaskCancelledError (``except TaskCancelledError``)."""
        cause = TaskCancelledError(f"{name} was cancelled while it ran")
        return make_task_error(name, cause, "asyncio.CancelledError raised in the method by "
                                            "cancel()\n")

    def _fail(self, call: Call, error: BaseException, status: int = TaskStatus.ERROR) -> None:
        """Answer a call with an error; ``ACTOR_DIED`` status lets a retrying caller resend."""
        call.unpin_args(self.runtime)
        execution.send_result(self.runtime, call.caller, call.task_id,
                              self._error_outcome(error, call.num_returns, status))
