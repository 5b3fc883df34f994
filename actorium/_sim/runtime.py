"""The simulation: one process, virtual time, the real caller side and the real executor.

``Simulator`` builds the pieces and drives them:

* a ``VirtualClockLoop`` (``clock.py``): sleeps, timeouts and timers jump;
* the simulated network (``network.py``) with the fault plan applied per sending process;
* a ``SimNode`` (``node.py``) and one ``SimProcess`` per worker (``processes.py``);
* ``SimRuntime``: the process's runtime, a real ``Runtime`` whose sockets are the simulated
  network and whose blocking calls (``get``, ``wait``, requests to the node, ``time.sleep``)
  hand the baton to the loop instead of blocking a thread.

Nothing runs unless someone waits: the test's thread runs the loop itself while it blocks in
``get()`` (or ``Simulation.run``/``sleep``), sync user code runs on ``SyncCall`` threads only
while the loop waits for them. One thing runs at a time, in an order fixed by the seed, so a
run is repeatable. When everything waits and no timer is set, nothing can ever happen again:
the blocked call raises ``SimulationStalledError`` instead of hanging.
"""

from __future__ import annotations

import asyncio
import random
import shutil
import tempfile
import threading
from collections.abc import Awaitable, Sequence
from typing import Any, TypeVar

from actorium._core import context
from actorium._core.ids import object_id_for
from actorium._core.objects import PENDING, READY, ObjectEntry
from actorium._core.ref import ObjectRef
from actorium._core.runtime import Runtime
from actorium._core.values import check_not_in_loop
from actorium._faults.plan import FaultPlan
from actorium._sim.clock import Idle, VirtualClock, VirtualClockLoop, patch_time
from actorium._sim.network import Network, Sender
from actorium._sim.node import NODE_ADDRESS, SimNode
from actorium._sim.processes import SimProcess
from actorium._sim.threads import SyncCall, current_call
from actorium.exceptions import (
    GetTimeoutError,
    RuntimeNotInitializedError,
    SimulationStalledError,
)

T = TypeVar("T")

__all__ = ["SimRuntime", "Simulator"]


class _AttributedOutbox:
    """The runtime's outbox: a message leaves from the simulated process whose code sends it
    (the actor or task running on this thread or coroutine), else from the driver."""

    def __init__(self, simulator: Simulator) -> None:
        self._simulator = simulator

    def send(self, address: str, frames: Sequence[Any]) -> None:
        self._simulator.sender_here().send(address, frames)

    def forget(self, address: str) -> None:
        pass

    def close(self, flush_seconds: float = 0.0) -> None:
        pass


class SimRuntime(Runtime):
    """The real runtime over the simulated network; blocking waits drive the simulation."""

    # The simulated node plays the node's task queue: tasks go to it, not on leases.
    use_leases = False

    def __init__(self, simulator: Simulator, namespace: str) -> None:
        super().__init__(role="driver", worker_id=simulator.new_id(),
                         session_dir=simulator.session_dir, node_address=NODE_ADDRESS,
                         node_id=simulator.node_id, job_id=b"\x00\x00\x00\x01",
                         namespace=namespace, token="simulation")
        self.address = "sim://driver"
        self.objects.own_address = self.address
        self.outbox.close()
        self.outbox = _AttributedOutbox(simulator)  # type: ignore[assignment]
        self._simulator = simulator
        self.loop = simulator.loop
        self.loop_thread_id = threading.get_ident()
        self.find_actor = simulator.find_actor

    # ------------------------------------------------------------------ blocking
    def wait_entries(self, refs: Sequence[ObjectRef[Any]], entries: list[ObjectEntry],
                     needed: int, timeout: float | None, *, raise_on_timeout: bool = True) -> None:
        ready = sum(entry.state != PENDING for entry in entries)
        if ready >= needed:
            return
        if self.closed:
            raise RuntimeNotInitializedError("actorium was shut down")
        finished = self._simulator.block(self._wait(entries, needed - ready, timeout))
        if not finished and raise_on_timeout:
            raise GetTimeoutError(f"get() timed out after {timeout} s: "
                                  f"{sum(e.state == PENDING for e in entries)} of "
                                  f"{len(entries)} object(s) not ready")

    async def _wait(self, entries: list[ObjectEntry], needed: int,
                    timeout: float | None) -> bool:  # noqa: ASYNC109 - wait()'s own
        done = asyncio.get_running_loop().create_future()
        count = [needed]

        def one(_entry: ObjectEntry) -> None:
            count[0] -= 1
            if count[0] <= 0 and not done.done():
                done.set_result(True)

        for entry in entries:
            if entry.state == PENDING and not self.objects.add_waiter(entry, one):
                one(entry)
        try:
            return await asyncio.wait_for(done, timeout)
        except TimeoutError:
            return False

    def request(self, verb: str, *args: Any, timeout: float | None = 30.0,
                buffers: Sequence[Any] = (), caller: str | None = None) -> Any:
        if caller is None:
            check_not_in_loop(f"actorium.{verb}()")
        future = self._start_request(verb, args, buffers)

        async def answer() -> Any:
            try:
                return await asyncio.wait_for(asyncio.wrap_future(future), timeout)
            except TimeoutError:
                raise GetTimeoutError(f"the node did not answer {verb!r} within {timeout} s"
                                      ) from None

        return self._simulator.block(answer())

    # ------------------------------------------------------------------ no shared memory
    def put_serialized(self, fmt: int, data: bytes, buffers: list[Any],
                       contained: list[ObjectRef[Any]]) -> ObjectRef[Any]:
        object_id = object_id_for(self.ids.next_id(), 0)
        entry = self.objects.expect(object_id)
        ref: ObjectRef[Any] = ObjectRef(object_id, self.address, self.objects)
        if contained:
            entry.contained = list(contained)
        self.objects.complete(object_id, READY, fmt, data, [bytes(b.raw()) for b in buffers])
        return ref

    def store_result(self, data: bytes, buffers: list[Any]) -> list[Any] | None:
        return None   # results travel in the message: there is no shared memory here

    def is_local_peer(self, address: str) -> bool:
        return False


class Simulator:
    """Owns a simulation from start to end (see the module docstring)."""

    def __init__(self, plan: FaultPlan | None, seed: int, latency: tuple[float, float],
                 num_cpus: int, namespace: str) -> None:
        self.seed = seed
        self.num_cpus = num_cpus
        self._ids = random.Random(seed)
        self.node_id = self.new_id()
        self.clock = VirtualClock()
        self.loop = VirtualClockLoop(self.clock)
        self.idents: set[int] = set()
        self.driver_thread = threading.get_ident()
        self.threads_ended: list[SyncCall] = []
        self.session_dir = tempfile.mkdtemp(prefix="actorium-sim-")
        self.network = Network(self.loop, seed, plan, latency)
        self.runtime = SimRuntime(self, namespace)
        self.network.after_delivery = self.runtime.objects.drain_released
        self.driver_sender = self.network.sender(self.runtime.address, "driver",
                                                  self._driver_killed)
        self.network.attach(self.runtime.address, self.runtime._on_message)
        self.node = SimNode(self)
        self._time_patch = patch_time(self.clock, self._owns_thread, self._sleep)
        self._closed = False

    def new_id(self) -> bytes:
        return self._ids.randbytes(16)

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        context.set_runtime(self.runtime)
        self._time_patch.__enter__()

    def close(self) -> None:
        """End every simulated process and call, free the loop and the session dir."""
        if self._closed:
            return
        self._closed = True
        try:
            for process in list(self.node.processes):
                process.die()
            self._cancel_everything()
            for call in list(self.threads_ended):
                call.end()
            if context.maybe_runtime() is self.runtime:
                context.set_runtime(None)
            self.runtime.close()
        finally:
            self._time_patch.__exit__(None, None, None)
            self.loop.close()
            shutil.rmtree(self.session_dir, ignore_errors=True)

    # ------------------------------------------------------------------ driving
    def _owns_thread(self) -> bool:
        ident = threading.get_ident()
        return ident == self.driver_thread or ident in self.idents

    def _sleep(self, seconds: float) -> None:
        """``time.sleep`` on one of the simulation's threads: virtual."""
        if asyncio._get_running_loop() is self.loop:
            # Blocking the loop itself (a sync call in async code): time passes, nothing runs.
            self.clock.advance(seconds)
            return
        self.block(asyncio.sleep(seconds))

    def block(self, awaitable: Awaitable[T]) -> T:
        """Wait for ``awaitable`` on the simulation: from a sync call, hand the baton to the
        loop; from the test's thread, run the loop until it is done."""
        call = current_call()
        if call is not None:
            result: T = call.block_on(awaitable)
            return result
        if threading.get_ident() != self.driver_thread:
            if asyncio.iscoroutine(awaitable):
                awaitable.close()
            raise RuntimeError("a simulated runtime is driven from the thread that started "
                               "it; this thread is not one of the simulation's")
        return self.drive(awaitable)

    def drive(self, awaitable: Awaitable[T]) -> T:
        """Run the loop on this (the test's) thread until ``awaitable`` is done."""
        if self._closed:
            if asyncio.iscoroutine(awaitable):
                awaitable.close()
            raise RuntimeNotInitializedError("the simulation has ended")
        task = asyncio.ensure_future(awaitable, loop=self.loop)
        try:
            return self.loop.run_until_complete(task)
        except Idle:
            task.cancel()
            try:
                self.loop.run_until_complete(task)
            except (asyncio.CancelledError, Idle):
                pass
            raise SimulationStalledError(
                f"nothing can happen any more at virtual time {self.clock.now:.3f} s: every "
                f"call waits for a message or a result that will never come (lost to a fault, "
                f"or a deadlock) and no timer is set") from None

    def _cancel_everything(self) -> None:
        """Cancel what still runs on the loop and let it unwind (the simulation ends)."""
        for _ in range(10):
            tasks = [task for task in asyncio.all_tasks(self.loop) if not task.done()]
            if not tasks:
                return
            for task in tasks:
                task.cancel()
            try:
                self.loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            except Idle:
                pass

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` of virtual time pass, running everything due meanwhile."""
        self.drive(asyncio.sleep(seconds))

    # ------------------------------------------------------------------ who sends
    def sender_here(self) -> Sender:
        running = context.current_execution.get()
        if running is not None:
            process = self._process_running(running.task_id, running.actor_id)
            if process is not None:
                return process.sender
        return self.driver_sender

    def _process_running(self, task_id: bytes, actor_id: bytes | None) -> SimProcess | None:
        node = self.node
        if actor_id is not None:
            actor = node.actors.get(actor_id)
            return actor.process if actor is not None else None
        task = node.tasks.get(task_id)
        return task.process if task is not None else None

    def find_actor(self, actor_id: bytes) -> Any:
        actor = self.node.actors.get(actor_id)
        if actor is None or actor.process is None:
            return None
        return actor.process.executor.actors.get(actor_id)

    def _driver_killed(self) -> None:
        raise SimulationStalledError("a kill_sender fault hit the driver: faults that kill "
                                     "apply to workers (roles=('worker',))")


