"""The worker side of a process: runs tasks the node sends and hosts actors.

Handlers here run on the worker's event loop. Synchronous user code is handed to the
``SyncThreadPool``; coroutines run on the loop. Results go straight to the caller's inbox;
TASK_FINISHED tells the node that the task's resources are free again.

A task that comes on a lease (its caller holds this worker, ``_core/leases.py``) comes from the
caller, not the node, and may come while another runs: such tasks run one at a time, in the
order they came, and the node hears nothing of them (the lease holds the resources). When the
running one blocks in ``get()``, the ones waiting behind it go back to their caller
(``REQUEUE``), which sends them elsewhere: a task must not wait for a task that waits for it.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import signal
import sys
import threading
import traceback
from collections import deque
from typing import Any, NoReturn

from actorium._core import execution
from actorium._core.accelerators import GPU, VISIBLE_DEVICES, show_devices
from actorium._core.affinity import allowed_cpus, pin_process
from actorium._core.checkpoint import SAVE_HOOK, Checkpointer, CheckpointStore
from actorium._core.code import CodeCache
from actorium._core.context import Execution, current_execution, placement_of
from actorium._core.mailbox import ActorLife, Call, HostedActor
from actorium._core.producer import Producers
from actorium._core.resources import plain_demand
from actorium._core.runtime import Runtime
from actorium._core.threads import SyncThreadPool
from actorium._transport import serialization
from actorium._transport.protocol import Kind, TaskStatus
from actorium.exceptions import ActorDiedError, TaskCancelledError

# How many dead actors a worker remembers, to answer late calls with the cause of death.
_TOMBSTONES = 10_000


class TaskSpec:
    """An EXECUTE_TASK message, decoded (the arguments stay serialized until the task runs)."""

    __slots__ = ("task_id", "owner", "code_id", "name", "fmt", "data", "buffers", "num_returns",
                 "retries_left", "retry_exceptions", "resources", "accelerator_ids",
                 "placement", "events", "leased")

    def __init__(self, header: list[Any], buffers: list[Any]) -> None:
        (_, self.task_id, self.owner, self.code_id, _code, self.name, self.fmt, self.data,
         _count, _deps, options, self.num_returns, self.retries_left,
         self.retry_exceptions) = header[:14]
        self.buffers = buffers
        self.resources = plain_demand(options)
        self.accelerator_ids: dict[str, list[str]] | None = options.get("accelerator_ids")
        self.placement = placement_of(options)
        self.events: bool = options.get("events", True)
        self.leased = "lease" in options

    def arguments(self, runtime: Runtime, has_refs: bool) -> tuple[tuple[Any, ...],
                                                                    dict[str, Any]]:
        return execution.rebuild_args(runtime, self.fmt, self.data, self.buffers, has_refs)


class WorkerExecutor:
    """Executes tasks and hosts actors for one worker process."""

    def __init__(self, runtime: Runtime, *, max_threads: int,
                 cores: list[int] | None = None) -> None:
        self.runtime = runtime
        self.cores = cores or []
        self._widened = False
        self.pool = SyncThreadPool(max_threads=max_threads)
        self.code = CodeCache()
        self.actors: dict[bytes, HostedActor] = {}
        # Dead actors: the error to answer late calls with, the incarnation that died, and the
        # status those answers carry (ACTOR_DIED, or MOVED for a passivated virtual actor).
        self.tombstones: dict[bytes, tuple[ActorDiedError, int, int]] = {}
        self.early_calls: dict[bytes, list[Call]] = {}
        self.running_tasks: dict[bytes, Any] = {}   # task_id -> asyncio.Task or thread ident
        # Tasks that came on a lease: the one running (its id), and those waiting behind it.
        self.leased_running: list[Any] | None = None   # its header
        self.leased_waiting: deque[tuple[list[Any], list[Any]]] = deque()
        self.stopped = asyncio.Event()
        for kind, handler in (
            (Kind.EXECUTE_TASK, self.on_execute_task),
            (Kind.CREATE_ACTOR, self.on_create_actor),
            (Kind.ACTOR_CALL, self.on_actor_call),
            (Kind.KILL_ACTOR, self.on_kill_actor),
            (Kind.CANCEL_TASK, self.on_cancel),
            (Kind.SHUTDOWN, self.on_shutdown),
        ):
            runtime.register_handler(kind, handler)
        runtime.on_blocking = self._tell_node_blocked
        runtime.find_actor = self.actors.get
        self.checkpoints = CheckpointStore(runtime.session_dir)
        self.producers = runtime.producers = Producers(runtime)

    def queue_lengths(self) -> dict[str, int]:
        """Calls queued or running per actor, for actors that have any (loop thread)."""
        return {actor_id.hex(): pending for actor_id, actor in self.actors.items()
                if (pending := actor.pending_calls())}

    def _tell_node_blocked(self, blocked: bool) -> None:
        """A task waiting in get() lends its CPU back, so nested tasks cannot deadlock."""
        running = current_execution.get()
        if running is not None and running.actor_id is None:
            self.runtime.send(self.runtime.node_address,
                              [Kind.TASK_BLOCKED, self.runtime.worker_id, blocked])
            if blocked and self.leased_waiting and self.runtime.loop is not None:
                self.runtime.loop.call_soon_threadsafe(self._requeue_waiting)

    def _requeue_waiting(self) -> None:
        """Hand the leased tasks waiting behind a blocked one back to their caller (loop)."""
        while self.leased_waiting:
            header, _buffers = self.leased_waiting.popleft()
            self.runtime.send(header[2], [Kind.TASK_RESULT, header[1], TaskStatus.REQUEUE,
                                          [], []])

    # ------------------------------------------------------------------ tasks
    def on_execute_task(self, header: list[Any], buffers: list[Any]) -> None:
        if header[4] is not None:
            # Kept at once: its caller counts it sent even if this task goes back unrun.
            self.code.add(header[3], header[4])
            header[4] = None
        if "lease" in header[10]:
            if self.leased_running is not None:
                self.leased_waiting.append((header, buffers))
                return
            self.leased_running = header
        self._start_task(header, buffers)

    def _next_leased(self) -> None:
        """The running leased task is done: start the next one that came (loop thread)."""
        self.leased_running = None
        if self.leased_waiting:
            header, buffers = self.leased_waiting.popleft()
            self.leased_running = header
            self._start_task(header, buffers)

    def leased_rows(self) -> list[list[Any]]:
        """[task id hex, name, state] of the leased tasks here, for the state API."""
        running = [] if self.leased_running is None else [(self.leased_running, "RUNNING")]
        waiting = [(header, "QUEUED") for header, _buffers in self.leased_waiting]
        return [[header[1].hex(), header[5], state] for header, state in running + waiting
                if header[10].get("events", True)]

    def _start_task(self, header: list[Any], buffers: list[Any]) -> None:
        spec = TaskSpec(header, buffers)
        self._fit_cores(spec.resources.get("CPU", 0.0))
        self.code.add(spec.code_id, header[4])
        try:
            function = self.code.load(spec.code_id)
        except Exception as exc:  # noqa: BLE001 - unpickling user code can raise anything
            error = exc
            self._finish_task(spec, execution.run_and_pack(
                self.runtime, spec.name, spec.num_returns, lambda: _raise(error)))
            return
        entries = self.runtime.accept_deps(header[9], pin=True) if header[9] else []
        if inspect.iscoroutinefunction(function) or inspect.isasyncgenfunction(function):
            task = asyncio.get_running_loop().create_task(
                self._run_async_task(spec, function, entries))
            self.running_tasks[spec.task_id] = task
        else:
            self.pool.submit(self._run_sync_task, spec, function, entries)

    def _fit_cores(self, num_cpus: float) -> None:
        """Let a task that reserved several CPUs use several cores, and narrow back after."""
        if not self.cores:
            return
        widen = num_cpus > len(self.cores)
        if widen != self._widened:
            self._widened = widen
            pin_process(set(allowed_cpus()) if widen else self.cores)

    def _run_sync_task(self, spec: TaskSpec, function: Any, entries: list[Any]) -> None:
        runtime = self.runtime
        self.running_tasks[spec.task_id] = threading.get_ident()
        token = current_execution.set(Execution(spec.task_id, None, spec.name, 0, spec.resources,
                                                spec.accelerator_ids, spec.placement,
                                                spec.events, function))
        restore_devices = show_devices((spec.accelerator_ids or {}).get(GPU))
        retry_on = _retry_filter(spec.retry_exceptions)
        retries_left = spec.retries_left

        def exiting(exc: SystemExit) -> None:  # sys.exit() in a generator's body
            _exit_worker(spec.name, exc)

        try:
            execution.wait_deps_blocking(runtime, entries)
            failure: list[BaseException] = []

            def invoke() -> Any:
                args, kwargs = spec.arguments(runtime, bool(entries))
                try:
                    return function(*args, **kwargs)
                except SystemExit as exc:
                    _exit_worker(spec.name, exc)
                except BaseException as exc:
                    failure.append(exc)
                    raise

            def again(exc: Exception) -> Any:
                """A streaming generator raised: the generator of a retry, or None."""
                nonlocal retries_left
                if retries_left == 0 or not retry_on(exc):
                    return None
                retries_left -= 1
                args, kwargs = spec.arguments(runtime, bool(entries))
                return function(*args, **kwargs)

            while True:
                failure.clear()
                outcome = execution.run_and_pack(runtime, spec.name, spec.num_returns, invoke,
                                                 owner=spec.owner, task_id=spec.task_id,
                                                 again=again, exiting=exiting)
                if not failure or retries_left == 0 or not retry_on(failure[0]):
                    break
                retries_left -= 1
        finally:
            restore_devices()
            current_execution.reset(token)
            self.running_tasks.pop(spec.task_id, None)
            runtime.unpin_deps(entries)
        self._finish_task(spec, outcome)

    async def _run_async_task(self, spec: TaskSpec, function: Any, entries: list[Any]) -> None:
        runtime = self.runtime
        current_execution.set(Execution(spec.task_id, None, spec.name, 0, spec.resources,
                                        spec.accelerator_ids, spec.placement, spec.events,
                                        function))
        restore_devices = show_devices((spec.accelerator_ids or {}).get(GPU))
        retry_on = _retry_filter(spec.retry_exceptions)
        retries_left = spec.retries_left

        def exiting(exc: SystemExit) -> None:  # sys.exit() in an async generator's body
            _exit_worker(spec.name, exc)

        try:
            await execution.wait_deps(runtime, entries)
            failure: list[BaseException] = []

            async def invoke() -> Any:
                args, kwargs = spec.arguments(runtime, bool(entries))
                try:
                    result = function(*args, **kwargs)
                    if inspect.isawaitable(result):
                        result = await result
                except SystemExit as exc:
                    _exit_worker(spec.name, exc)
                except BaseException as exc:
                    failure.append(exc)
                    raise
                return result

            async def again(exc: Exception) -> Any:
                """An async streaming generator raised: the generator of a retry, or None."""
                nonlocal retries_left
                if retries_left == 0 or not retry_on(exc):
                    return None
                retries_left -= 1
                args, kwargs = spec.arguments(runtime, bool(entries))
                return function(*args, **kwargs)

            while True:  # retry_exceptions, as for a synchronous task
                failure.clear()
                outcome = await execution.run_and_pack_async(
                    runtime, spec.name, spec.num_returns, invoke, owner=spec.owner,
                    task_id=spec.task_id, again=again, exiting=exiting)
                if not failure or retries_left == 0 or not retry_on(failure[0]):
                    break
                retries_left -= 1
        finally:
            restore_devices()
            self.running_tasks.pop(spec.task_id, None)
            runtime.unpin_deps(entries)
        self._finish_task(spec, outcome)

    def _finish_task(self, spec: TaskSpec, outcome: Any) -> None:
        execution.send_result(self.runtime, spec.owner, spec.task_id, outcome)
        if not spec.leased:
            self.runtime.send(self.runtime.node_address, [Kind.TASK_FINISHED, spec.task_id])
            return
        loop = self.runtime.loop
        if loop is None:
            return
        if threading.get_ident() == self.runtime.loop_thread_id:
            self._next_leased()
        else:
            loop.call_soon_threadsafe(self._next_leased)

    # ------------------------------------------------------------------ actors
    def on_create_actor(self, header: list[Any], buffers: list[Any]) -> None:
        (_, actor_id, _owner, code_id, code, class_name, fmt, data, _count, deps, options,
         max_concurrency, is_async, incarnation) = header[:14]
        actor = HostedActor(self.runtime, self.pool, actor_id, class_name, is_async,
                            max_concurrency, incarnation)
        actor.resources = plain_demand(options) or None
        actor.accelerator_ids = options.get("accelerator_ids")
        actor.placement = placement_of(options)
        actor.events = options.get("events", True)
        actor.options = options
        actor.methods = header[14] if len(header) > 14 else {}
        actor.method_events = options.get("method_events")
        if options.get("concurrency_groups"):
            actor.set_concurrency_groups(options["concurrency_groups"],
                                         options.get("method_groups") or {})
        if actor.accelerator_ids and actor.accelerator_ids.get(GPU):
            # The actor has its process to itself: the devices stay set for its lifetime.
            os.environ[VISIBLE_DEVICES] = ",".join(actor.accelerator_ids[GPU])
        self.adopt(actor)
        entries = self.runtime.accept_deps(deps, pin=True) if deps else []
        self.code.add(code_id, code)
        loop = asyncio.get_running_loop()

        def construct() -> None:
            token = current_execution.set(Execution(actor_id, actor_id, f"{class_name}.__init__",
                                                    incarnation, actor.resources,
                                                    actor.accelerator_ids, actor.placement))
            try:
                cls = actor.cls = self.code.load(code_id)
                execution.wait_deps_blocking(self.runtime, entries)
                args, kwargs = execution.rebuild_args(self.runtime, fmt, data, buffers,
                                                      bool(entries))
                instance = cls(*args, **kwargs)
                if hasattr(instance, SAVE_HOOK):
                    actor.checkpointer = Checkpointer(
                        self.checkpoints, actor_id, incarnation, options.get("checkpoint_every"),
                        options.get("checkpoint_interval"))
                    if incarnation > 0:
                        actor.checkpointer.restore(instance)
            except BaseException as exc:  # noqa: BLE001 - reported as the actor's death
                error = ActorDiedError(
                    f"actor {actor.label} died: its constructor raised "
                    f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}",
                    actor_id=actor_id.hex(), cause=picklable(exc))
                loop.call_soon_threadsafe(self._constructor_failed, actor, error)
                return
            finally:
                current_execution.reset(token)
                self.runtime.unpin_deps(entries)
            loop.call_soon_threadsafe(self._constructed, actor, instance)

        self.pool.submit(construct)

    def adopt(self, actor: HostedActor) -> None:
        """Make ``actor`` the one calls to its id reach, and hand it the calls that overtook
        its creation. Only those for its incarnation: a restart can reach the worker right
        behind the creation it replaces (placed, killed, placed again before the worker had
        started), and its calls must wait for their own incarnation."""
        actor_id, incarnation = actor.actor_id, actor.incarnation
        self.actors[actor_id] = actor
        self.tombstones.pop(actor_id, None)
        early = self.early_calls.pop(actor_id, [])
        later = [call for call in early if call.incarnation > incarnation]
        if later:
            self.early_calls[actor_id] = later
        for call in early:
            if call.incarnation == incarnation:
                actor.deliver(call)
            elif call.incarnation < incarnation:
                actor._fail(call, ActorDiedError(
                    f"actor {actor.label} restarted while this call was on its way; it was "
                    f"not run", actor_id=actor_id.hex()), actor.not_run_status)

    def _constructed(self, actor: HostedActor, instance: Any) -> None:
        if actor.life is ActorLife.DEAD or actor.life is ActorLife.STOPPING:
            return  # killed or stopped while its constructor ran
        actor.constructed(instance)
        self.runtime.send(self.runtime.node_address,
                          [Kind.ACTOR_READY, actor.actor_id, actor.incarnation, True, None])

    def _constructor_failed(self, actor: HostedActor, error: ActorDiedError) -> None:
        self._bury(actor, error)
        self.runtime.send(self.runtime.node_address,
                          [Kind.ACTOR_READY, actor.actor_id, actor.incarnation, False,
                           serialization.dumps(error)[1]])

    def _bury(self, actor: HostedActor, error: ActorDiedError) -> None:
        actor.die(error)
        if self.actors.get(actor.actor_id) is actor:
            del self.actors[actor.actor_id]
        if len(self.tombstones) >= _TOMBSTONES:
            self.tombstones.pop(next(iter(self.tombstones)))
        self.tombstones[actor.actor_id] = (error, actor.incarnation, actor.not_run_status)

    def on_actor_call(self, header: list[Any], buffers: list[Any]) -> None:
        call = Call(header, buffers)
        if call.deps:
            call.entries = self.runtime.accept_deps(call.deps, pin=True)
        actor = self.actors.get(header[2])
        if actor is not None:
            if header[5] < actor.incarnation:
                actor._fail(call, ActorDiedError(
                    f"actor {actor.label} restarted while this call was on its way; "
                    f"it was not run", actor_id=actor.actor_id.hex()), actor.not_run_status)
                return
            if header[5] == actor.incarnation:
                actor.deliver(call)
                return
        tombstone = self.tombstones.get(header[2])
        # A call for a *later* incarnation overtook that incarnation's creation: it waits below.
        if tombstone is not None and header[5] <= tombstone[1]:
            dead = tombstone[0]
            call.unpin_args(self.runtime)
            execution.send_result(self.runtime, call.caller, call.task_id, (
                tombstone[2], [[serialization.PICKLE, serialization.dumps(dead)[1], 0]]
                * max(call.num_returns, 1), [], []))
            return
        # The call overtook the creation of its incarnation: keep it until that arrives.
        self.early_calls.setdefault(header[2], []).append(call)

    def on_kill_actor(self, header: list[Any], _buffers: list[Any]) -> None:
        """Drop an actor now, or (with a grace period) once its running calls are done."""
        _, actor_id, reason = header[:3]
        grace: float = header[3] if len(header) > 3 else 0.0
        actor = self.actors.get(actor_id)
        if actor is None or actor.life is ActorLife.DEAD:
            if grace:
                self.runtime.notify_node("actor_stopped", actor_id, -1)
            return
        error = ActorDiedError(f"actor {actor.label} died: {reason}", actor_id=actor_id.hex())
        if not grace:
            self._bury(actor, error)
            return
        asyncio.get_running_loop().create_task(self._stop_gracefully(actor, error, grace))

    async def _stop_gracefully(self, actor: HostedActor, error: ActorDiedError,
                               grace: float) -> None:
        """Let running calls finish for up to ``grace`` s, then drop the actor; tell the node.

        Polls (every 10 ms) because sync calls end on pool threads; the node kills the whole
        process of a dedicated actor that overruns its grace period.
        """
        actor.stop_taking_calls(error)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        while actor.running and loop.time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        hook = getattr(actor.instance, "__actorium_stop__", None)
        if hook is not None and not actor.running:
            # The actor's last word (flush, final checkpoint), within what is left of grace.
            try:
                await asyncio.wait_for(loop.run_in_executor(None, hook),
                                       max(deadline - loop.time(), 0.05))
            except Exception:  # noqa: BLE001 - a failing hook must not keep the actor alive
                traceback.print_exc()
        self._bury(actor, error)
        self.runtime.notify_node("actor_stopped", actor.actor_id, actor.incarnation)

    # ------------------------------------------------------------------ cancel and stop
    def on_cancel(self, header: list[Any], _buffers: list[Any]) -> None:
        _, task_id, force, actor_id = header[:4]
        if self.producers.cancel(task_id):
            # A generator stops at its next yield (or now, if paused): no exception is thrown
            # into its thread, which could land after the call ended, in an idle pool thread.
            return
        if actor_id is not None:
            actor = self.actors.get(actor_id)
            if actor is not None:
                actor.cancel(task_id, force)
            return
        for waiting in self.leased_waiting:
            if waiting[0][1] == task_id:   # came on a lease, not started: it never runs
                self.leased_waiting.remove(waiting)
                error = TaskCancelledError(f"task {waiting[0][5]} was cancelled")
                self.runtime.send(waiting[0][2], [Kind.TASK_RESULT, task_id, TaskStatus.ERROR, [
                    [serialization.PICKLE, serialization.dumps(error)[1], 0]]
                    * max(waiting[0][11], 1), []])
                return
        running = self.running_tasks.get(task_id)
        if running is None:
            return
        if force:
            os.kill(os.getpid(), signal.SIGKILL)
        if isinstance(running, asyncio.Task):
            running.cancel()
        else:
            from actorium._core.interrupt import raise_in_thread
            raise_in_thread(running, TaskCancelledError)

    def on_shutdown(self, _header: list[Any], _buffers: list[Any]) -> None:
        self.stopped.set()


def _raise(exc: BaseException) -> Any:
    raise exc


def _retry_filter(retry_exceptions: Any) -> Any:
    if retry_exceptions is True:
        return lambda exc: isinstance(exc, Exception)
    if not retry_exceptions:
        return lambda exc: False
    classes = serialization.loads(serialization.PICKLE, retry_exceptions)
    return lambda exc: isinstance(exc, classes)


def picklable(exc: BaseException) -> BaseException | None:
    """``exc`` if it pickles, else a RuntimeError carrying its text (to send it anywhere)."""
    try:
        serialization.dumps(exc)
    except Exception:  # noqa: BLE001
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc


def _exit_worker(task_name: str, exc: SystemExit) -> NoReturn:
    """A task called ``sys.exit()``: its worker process exits, as on Ray.

    The node sees a worker die under a task, so the task is retried (``max_retries``) and
    fails with ``WorkerCrashedError`` when none is left. Ends the process at once (from a
    pool thread a plain ``SystemExit`` would only end that thread).
    """
    code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    print(f"actorium worker {os.getpid()}: task {task_name} called sys.exit({exc.code!r}); "
          f"the worker exits", file=sys.stderr, flush=True)
    sys.stdout.flush()
    os._exit(code)
