"""The simulation's worker processes: the real executor, on simulated threads and sockets.

A ``SimProcess`` is what a worker process is in the real runtime, minus the process: an
address on the simulated network, a ``WorkerExecutor`` (the same class real workers run, so
actors keep their mailbox order, concurrency, incarnations, ``exit_actor`` and checkpoints),
and a pool whose "threads" are ``SyncCall``s that run one at a time, handed the baton by the
loop. Killing it is what SIGKILL does: its sockets close (what it sends from now on is lost,
what is on its way to it is lost), its async calls stop at their next ``await``, its sync
calls at their next blocking call.
"""

from __future__ import annotations

import asyncio
import contextvars
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from actorium._core.runtime import Runtime
from actorium._core.worker import WorkerExecutor
from actorium._sim.threads import SimulationEnded, SyncCall
from actorium._transport.protocol import Kind, pack

if TYPE_CHECKING:
    from actorium._sim.network import Sender
    from actorium._sim.runtime import Simulator


class ProcessView:
    """The runtime as one simulated worker sees it: its own address, handlers and socket;
    everything else (objects, refs, callers' state) is the simulation's one runtime."""

    _on_message = Runtime._on_message
    register_handler = Runtime.register_handler

    def __init__(self, runtime: Runtime, address: str, worker_id: bytes,
                 sender: Sender) -> None:
        self._runtime = runtime
        self.address = address
        self.worker_id = worker_id
        self.sender = sender
        self.on_blocking: Callable[[bool], None] | None = None
        self.find_actor: Callable[[bytes], Any] | None = None
        self.producers: Any = None
        self._handlers: dict[int, Callable[[list[Any], list[Any]], None]] = {
            Kind.WORKER_DIED: lambda _header, _buffers: None,
        }

    def __getattr__(self, name: str) -> Any:
        return getattr(self._runtime, name)

    def send(self, address: str, header: list[Any], buffers: Any = ()) -> None:
        self.sender.send(address, [pack(header), *buffers])


class SimPool:
    """``SyncThreadPool``'s interface over ``SyncCall``: each submission is a call the loop
    drives to its end; exactly one of them (or the loop) runs at any moment."""

    def __init__(self, simulator: Simulator) -> None:
        self._simulator = simulator
        self.calls: dict[SyncCall, asyncio.Task[Any]] = {}
        self.doomed = False

    def submit(self, function: Callable[..., Any], *args: Any) -> None:
        if self.doomed:
            return
        context = contextvars.copy_context()
        call = SyncCall(lambda: function(*args), context, self._simulator.idents)
        self._simulator.loop.call_soon_threadsafe(self._start, call)

    def _start(self, call: SyncCall) -> None:
        if self.doomed:
            return
        task = self._simulator.loop.create_task(call.run())
        self.calls[call] = task
        task.add_done_callback(lambda done: self._finished(call, done))

    def _finished(self, call: SyncCall, task: asyncio.Task[Any]) -> None:
        self.calls.pop(call, None)
        self._simulator.threads_ended.append(call)
        if task.cancelled():
            return
        error = task.exception()
        if error is not None and not isinstance(error, SimulationEnded):
            traceback.print_exception(error)

    def doom(self) -> None:
        """The process died: every call of it stops at its next blocking call."""
        self.doomed = True
        for call, task in list(self.calls.items()):
            call.doom()
            task.cancel()

    @property
    def thread_count(self) -> int:
        return len(self.calls)

    def close(self) -> None:
        self.doom()


class SimProcess:
    """One simulated worker process (see the module docstring)."""

    def __init__(self, simulator: Simulator, kind: str, number: int) -> None:
        self.simulator = simulator
        self.kind = kind                       # "task" or "actor"
        self.address = f"sim://{kind}-worker-{number}"
        self.worker_id = simulator.new_id()
        self.alive = True
        network = simulator.network
        self.sender = network.sender(self.address, "worker", self.kill_by_fault)
        self.view = ProcessView(simulator.runtime, self.address, self.worker_id, self.sender)
        self.pool = SimPool(simulator)
        self.executor = WorkerExecutor(self.view, max_threads=1)  # type: ignore[arg-type]
        self.executor.pool.close()              # never started a thread; ours replaces it
        self.executor.pool = self.pool          # type: ignore[assignment]
        self.view.find_actor = self.executor.actors.get
        network.attach(self.address, self.view._on_message)  # type: ignore[misc]

    def kill_by_fault(self) -> None:
        """A ``kill_before``/``kill_after`` fault hit a message this process sent."""
        self.simulator.loop.call_soon_threadsafe(self.simulator.node.process_died, self,
                                                 "was killed by a fault (kill_sender)")
        self.sender.dead = True

    def die(self) -> None:
        """SIGKILL, as far as one interpreter can: nothing more leaves or arrives, and its
        code stops at its next wait (loop thread)."""
        if not self.alive:
            return
        self.alive = False
        self.sender.dead = True
        self.simulator.network.detach(self.address)
        self.pool.doom()
        for task in list(self.executor.running_tasks.values()):
            if isinstance(task, asyncio.Task):
                task.cancel()
        for actor in list(self.executor.actors.values()):
            for call in list((actor._async_calls or {}).values()):
                if call.task is not None:
                    call.task.cancel()
            actor.life = type(actor.life).DEAD
            actor.instance = None
