"""The simulation's node: where tasks run, where actors live, what happens when they die.

It plays the node daemon's part with the same messages (SUBMIT_TASK in, EXECUTE_TASK out,
CREATE_ACTOR, ACTOR_PLACED, ACTOR_DIED, REQUEST/RESPONSE), so the caller side and the worker
side are the real ones. What it decides is the node's documented behaviour: a task whose
worker died runs again while it has retries (``max_retries``, -1 forever) and fails with
``WorkerCrashedError`` after; an actor whose worker died restarts while it has restarts
(``max_restarts``), after its restart backoff, in a fresh worker, with a new incarnation;
a constructor that raises kills the actor for good; ``kill()`` and ``exit_actor()`` end it.
Resources are not modelled: every task starts as soon as it is submitted.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from actorium._sim.processes import SimProcess
from actorium._transport import serialization
from actorium._transport.protocol import Kind, TaskStatus, pack, unpack
from actorium._transport.requests import answer
from actorium.exceptions import ActorDiedError, TaskCancelledError, WorkerCrashedError

if TYPE_CHECKING:
    from actorium._sim.runtime import Simulator

NODE_ADDRESS = "sim://node"


@dataclass
class _Task:
    header: list[Any]
    buffers: list[bytes]
    retries_left: int
    process: SimProcess | None = None
    cancelled: bool = False


@dataclass
class _Actor:
    header: list[Any]
    buffers: list[bytes]
    class_name: str
    options: dict[str, Any]
    methods: dict[str, int]
    incarnation: int = 0
    restarts: int = 0
    process: SimProcess | None = None
    state: str = "PENDING_CREATION"
    death: str | None = None
    error_data: bytes | None = None
    name: str | None = None
    namespace: str = "default"
    placements: list[float] = field(default_factory=list)


class SimNode:
    """See the module docstring. Runs on the loop only."""

    def __init__(self, simulator: Simulator) -> None:
        self.simulator = simulator
        self.address = NODE_ADDRESS
        self.sender = simulator.network.sender(self.address, "node", lambda: None)
        self.code: dict[bytes, bytes] = {}
        self.tasks: dict[bytes, _Task] = {}
        self.actors: dict[bytes, _Actor] = {}
        self.names: dict[tuple[str, str], bytes] = {}
        self.idle_task_workers: list[SimProcess] = []
        self.processes: list[SimProcess] = []
        self.task_runs = 0
        self.actor_restarts = 0
        self.deaths: list[str] = []
        self._handlers = {
            Kind.SUBMIT_TASK: self._on_submit_task,
            Kind.TASK_FINISHED: self._on_task_finished,
            Kind.CREATE_ACTOR: self._on_create_actor,
            Kind.ACTOR_READY: self._on_actor_ready,
            Kind.REQUEST: self._on_request,
        }
        simulator.network.attach(self.address, self._on_message)

    def _on_message(self, frames: list[Any]) -> None:
        header = unpack(frames[0])
        handler = self._handlers.get(header[0])
        if handler is None:
            return   # SHUTDOWN, TASK_BLOCKED, stats: nothing to model
        try:
            handler(header, [frame.bytes for frame in frames[1:]])
        except Exception:  # noqa: BLE001 - as the node: one bad message must not stop it
            traceback.print_exc()

    def _send(self, address: str, header: list[Any], buffers: list[bytes] = ()) -> None:  # type: ignore[assignment]
        self.sender.send(address, [pack(header), *buffers])

    def _new_process(self, kind: str) -> SimProcess:
        process = SimProcess(self.simulator, kind, len(self.processes) + 1)
        self.processes.append(process)
        return process

    # ------------------------------------------------------------------ tasks
    def _on_submit_task(self, header: list[Any], buffers: list[bytes]) -> None:
        task_id, code_id, code = header[1], header[3], header[4]
        if code is not None:
            self.code[code_id] = code
        self.tasks[task_id] = _Task(header, buffers, header[12])
        self._run_task(task_id)

    def _run_task(self, task_id: bytes) -> None:
        task = self.tasks[task_id]
        process = self.idle_task_workers.pop() if self.idle_task_workers else \
            self._new_process("task")
        task.process = process
        header = list(task.header)
        header[0] = Kind.EXECUTE_TASK
        header[4] = self.code.get(header[3])
        self.task_runs += 1
        self._send(process.address, header, task.buffers)

    def _on_task_finished(self, header: list[Any], _buffers: list[bytes]) -> None:
        task = self.tasks.pop(header[1], None)
        if task is not None and task.process is not None and task.process.alive:
            self.idle_task_workers.append(task.process)

    def _fail_task(self, task_id: bytes, task: _Task, error: BaseException) -> None:
        num_returns = task.header[11]
        data = serialization.dumps(error)[1]
        returns = [[serialization.PICKLE, data, 0]] * max(num_returns if num_returns > 0
                                                          else 1, 1)
        self._send(task.header[2], [Kind.TASK_RESULT, task_id, TaskStatus.ERROR, returns, []])

    # ------------------------------------------------------------------ actors
    def _on_create_actor(self, header: list[Any], buffers: list[bytes]) -> None:
        self._create_actor(header, buffers)

    def _create_actor(self, header: list[Any], buffers: list[bytes]) -> _Actor:
        actor_id, code_id, code, class_name, options = (header[1], header[3], header[4],
                                                        header[5], header[10])
        if code is not None:
            self.code[code_id] = code
        name = options.get("name")
        namespace = options.get("namespace") or "default"
        if name is not None:
            taken = self.names.get((namespace, name))
            if taken is not None and self.actors[taken].state != "DEAD":
                if options.get("get_if_exists"):
                    return self.actors[taken]
                raise ValueError(f"The name {name!r} (namespace={namespace!r}) is already "
                                 f"taken by a live actor")
            self.names[(namespace, name)] = actor_id
        actor = _Actor(header, buffers, class_name, options, dict(header[14]), name=name,
                       namespace=namespace)
        self.actors[actor_id] = actor
        self._place(actor_id)
        return actor

    def _place(self, actor_id: bytes) -> None:
        actor = self.actors[actor_id]
        if actor.state == "DEAD":
            return
        process = self._new_process("actor")
        actor.process = process
        actor.state = "ALIVE"
        header = list(actor.header)
        header[4] = self.code.get(header[3])
        header[13] = actor.incarnation
        self._send(process.address, header, actor.buffers)
        self._tell_callers([Kind.ACTOR_PLACED, actor_id, process.address, actor.incarnation])

    def _on_actor_ready(self, header: list[Any], _buffers: list[bytes]) -> None:
        _, actor_id, incarnation, ok, error_data = header[:5]
        actor = self.actors.get(actor_id)
        if actor is None or ok or incarnation != actor.incarnation:
            return
        self._bury(actor_id, "its constructor raised", error_data)

    def _tell_callers(self, header: list[Any]) -> None:
        self._send(self.simulator.runtime.address, header)

    def _bury(self, actor_id: bytes, reason: str, error_data: bytes | None = None) -> None:
        actor = self.actors[actor_id]
        if actor.state == "DEAD":
            return
        actor.state = "DEAD"
        actor.death = reason
        if error_data is None:
            error_data = serialization.dumps(ActorDiedError(
                f"actor {actor.class_name}({actor_id.hex()}) died: {reason}",
                actor_id=actor_id.hex()))[1]
        actor.error_data = error_data
        if actor.process is not None:
            self._kill_actor_in(actor_id, actor.process, reason)
        self._tell_callers([Kind.ACTOR_DIED, actor_id, reason, False, error_data])

    def _kill_actor_in(self, actor_id: bytes, process: SimProcess, reason: str) -> None:
        # One actor per simulated process: ending the actor ends its process.
        self._send(process.address, [Kind.KILL_ACTOR, actor_id, reason])

    def _restart_or_bury(self, actor_id: bytes, reason: str) -> None:
        actor = self.actors[actor_id]
        limit = actor.options.get("max_restarts") or 0
        if limit != -1 and actor.restarts >= limit:
            self._bury(actor_id, f"{reason} (no restarts left: max_restarts={limit})")
            return
        actor.restarts += 1
        actor.incarnation += 1
        self.actor_restarts += 1
        actor.state = "RESTARTING"
        actor.process = None
        self._tell_callers([Kind.ACTOR_DIED, actor_id, reason, True, None])
        backoff = actor.options.get("restart_backoff") or (0.1, 5.0)
        delay = min(backoff[0] * 2 ** (actor.restarts - 1), backoff[1])
        self.simulator.loop.call_later(delay, self._place, actor_id)

    # ------------------------------------------------------------------ deaths
    def process_died(self, process: SimProcess, why: str) -> None:
        """A simulated worker process is gone (killed by the test or a fault)."""
        if not process.alive:
            return
        process.die()
        self.deaths.append(f"{process.address} {why}")
        if process in self.idle_task_workers:
            self.idle_task_workers.remove(process)
        for task_id, task in list(self.tasks.items()):
            if task.process is not process:
                continue
            if task.cancelled:
                del self.tasks[task_id]
                self._fail_task(task_id, task, TaskCancelledError(
                    f"task {task.header[5]} was cancelled (force=True ended its worker)"))
            elif task.retries_left != 0:
                if task.retries_left > 0:
                    task.retries_left -= 1
                self._run_task(task_id)
            else:
                del self.tasks[task_id]
                self._fail_task(task_id, task, WorkerCrashedError(
                    f"the worker running task {task.header[5]} died ({why}) and no retries "
                    f"were left (max_retries={task.header[12]})"))
        for actor_id, actor in self.actors.items():
            if actor.process is process and actor.state != "DEAD":
                self._restart_or_bury(actor_id, f"its worker process died ({why})")

    def kill_actor_process(self, actor_id: bytes) -> SimProcess:
        actor = self.actors.get(actor_id)
        if actor is None or actor.process is None or actor.state == "DEAD":
            raise LookupError(f"actor {actor_id.hex()} has no live process")
        process = actor.process
        self.process_died(process, "was killed by the test")
        return process

    # ------------------------------------------------------------------ requests
    def _on_request(self, header: list[Any], buffers: list[bytes]) -> None:
        _, request_id, reply_to, verb, args = header[:5]
        method = getattr(self, f"_verb_{verb}", None)
        if method is None:
            def run() -> Any:
                raise NotImplementedError(f"actorium.{verb}() is not available in the "
                                          f"simulation (actorium.testing.simulate)")
        else:
            def run() -> Any:
                return method(*args, buffers=buffers)
        answer(lambda address, head: self._send(address, head), reply_to, request_id, run,
               self.simulator.loop)

    def _describe(self, actor_id: bytes) -> dict[str, Any]:
        actor = self.actors[actor_id]
        return {"actor_id": actor_id, "class_name": actor.class_name,
                "methods": actor.methods,
                "address": actor.process.address if actor.process is not None else None,
                "incarnation": actor.incarnation,
                "max_task_retries": actor.options.get("max_task_retries", 0),
                "max_pending_calls": actor.options.get("max_pending_calls", -1),
                "dead": actor.death if actor.state == "DEAD" else None}

    def _verb_create_actor(self, packed: bytes, *, buffers: list[bytes]) -> dict[str, Any]:
        header = unpack(packed)
        actor = self._create_actor(header, buffers)
        found = next(i for i, a in self.actors.items() if a is actor)
        return self._describe(found)

    def _verb_get_actor(self, name: str, namespace: str, *, buffers: list[bytes]
                        ) -> dict[str, Any]:
        actor_id = self.names.get((namespace, name))
        if actor_id is None or self.actors[actor_id].state == "DEAD":
            raise ValueError(f"Failed to look up actor with name {name!r} in namespace "
                             f"{namespace!r}: there is no live actor of that name")
        return self._describe(actor_id)

    def _verb_subscribe_actor(self, actor_id: bytes, _address: str, *,
                              buffers: list[bytes]) -> dict[str, Any] | None:
        return self._describe(actor_id) if actor_id in self.actors else None

    def _verb_kill_actor(self, actor_id: bytes, no_restart: bool, *,
                         buffers: list[bytes]) -> None:
        actor = self.actors.get(actor_id)
        if actor is None or actor.state == "DEAD":
            return
        if no_restart:
            self._bury(actor_id, "it was killed with actorium.kill()")
            return
        process = actor.process
        if process is not None:
            self.process_died(process, "was ended by actorium.kill(no_restart=False)")

    def _verb_actor_exited(self, actor_id: bytes, _incarnation: int, reason: str, *,
                           buffers: list[bytes]) -> None:
        if actor_id in self.actors:
            self._bury(actor_id, reason)

    def _verb_actor_crashed(self, actor_id: bytes, _incarnation: int, reason: str, *,
                            buffers: list[bytes]) -> None:
        actor = self.actors.get(actor_id)
        if actor is not None and actor.process is not None:
            self.process_died(actor.process, reason)

    def _verb_cancel_task(self, task_id: bytes, force: bool, *, buffers: list[bytes]) -> None:
        task = self.tasks.get(task_id)
        if task is None or task.process is None:
            return
        if force:
            task.cancelled = True
            self.process_died(task.process, "was ended by cancel(force=True)")
            return
        self._send(task.process.address, [Kind.CANCEL_TASK, task_id, False, None])

    def _verb_lost_results(self, _task_ids: list[bytes], *, buffers: list[bytes]) -> None:
        return None

    def _verb_state(self, what: str, _filters: dict[str, Any], limit: int, *,
                    buffers: list[bytes]) -> list[dict[str, Any]]:
        if what != "actors":
            raise NotImplementedError(f"the state API's {what!r} is not available in the "
                                      f"simulation")
        return [{"actor_id": actor_id.hex(), "class_name": actor.class_name,
                 "state": actor.state, "name": actor.name or "",
                 "namespace": actor.namespace, "restarts": actor.restarts,
                 "death_reason": actor.death}
                for actor_id, actor in list(self.actors.items())[:limit]]

    def _verb_cluster_resources(self, *, buffers: list[bytes]) -> dict[str, float]:
        return {"CPU": float(self.simulator.num_cpus)}

    def _verb_available_resources(self, *, buffers: list[bytes]) -> dict[str, float]:
        return {"CPU": float(self.simulator.num_cpus)}
