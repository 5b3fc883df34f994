"""The fast test mode: the whole runtime in this process, on a virtual clock.

    with actorium.testing.simulate(seed=1) as sim:
        service = Service.remote()
        ref = service.wait_for_reply.remote(timeout=3600)   # an hour...
        assert actorium.get(ref) == "timed out"             # ...in milliseconds
        assert sim.now >= 3600

Inside the block, the same actor code as in the real runtime runs unchanged: ``@remote``,
``.remote()``, ``get``/``wait``/``await``, named actors, ``kill``, restarts and retries. Time
is virtual: ``asyncio.sleep``, ``time.sleep``, ``wait_for`` and ``get(timeout=)`` jump to
their deadline when nothing else can run. The seed fixes the order in which concurrent
messages arrive, so a run is repeatable and other seeds try other interleavings. Message
faults (``drop``, ``delay``...) apply as in the real runtime; ``sim.kill_actor_worker`` kills
an actor's simulated process. See docs/testing.md for what it does not model.
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from actorium._api import is_initialized
from actorium._core.actor import ActorHandle
from actorium._faults.plan import FaultPlan, MessageFault
from actorium._sim.runtime import Simulator

T = TypeVar("T")


class Simulation:
    """The running simulation, as ``simulate()`` yields it."""

    def __init__(self, simulator: Simulator) -> None:
        self._simulator = simulator

    @property
    def seed(self) -> int:
        return self._simulator.seed

    @property
    def now(self) -> float:
        """Virtual seconds since the simulation started."""
        return self._simulator.clock.now

    def sleep(self, seconds: float) -> None:
        """Let ``seconds`` of virtual time pass; everything due meanwhile runs."""
        if not isinstance(seconds, (int, float)) or seconds < 0:
            raise ValueError(f"seconds must be a number >= 0, got {seconds!r}")
        self._simulator.advance(float(seconds))

    def run(self, awaitable: Awaitable[T]) -> T:
        """Run async driver code (``await ref``, ``asyncio.gather``...) to its end."""
        return self._simulator.drive(awaitable)

    def kill_actor_worker(self, actor: ActorHandle[Any]) -> None:
        """Kill the simulated process hosting ``actor``, as SIGKILL would: its calls in flight
        are lost, it restarts within ``max_restarts`` (after its backoff) or dies.

        Returns once the news has reached the callers (a few message latencies of virtual
        time), so a call made next waits for the restarted actor or fails as dead."""
        if not isinstance(actor, ActorHandle):
            raise TypeError(f"kill_actor_worker() takes an actor handle, got "
                            f"{type(actor).__name__}")
        simulator = self._simulator
        simulator.loop.call_soon(simulator.node.kill_actor_process, actor._actor_id)
        simulator.advance(2 * simulator.network.latency[1] + 1e-6)

    @property
    def stats(self) -> dict[str, Any]:
        """What happened: messages delivered, faults applied per action, task runs (retries
        included), actor restarts, process deaths."""
        simulator = self._simulator
        applied: dict[str, int] = {}
        senders = [simulator.node.sender, simulator.driver_sender,
                   *(process.sender for process in simulator.node.processes)]
        for sender in senders:
            if sender.injector is not None:
                for action, count in sender.injector.applied.items():
                    applied[action] = applied.get(action, 0) + count
        return {"virtual_seconds": simulator.clock.now,
                "messages": simulator.network.delivered, "faults": applied,
                "task_runs": simulator.node.task_runs,
                "actor_restarts": simulator.node.actor_restarts,
                "deaths": list(simulator.node.deaths)}


@contextmanager
def simulate(*faults: MessageFault, seed: int = 0, num_cpus: int = 4,
             namespace: str = "default",
             latency: tuple[float, float] = (0.0001, 0.002)) -> Iterator[Simulation]:
    """Run the block against a simulated runtime in this process, in virtual time.

    ``faults`` are message faults (``drop``, ``delay``, ``duplicate``, ``reorder``,
    ``kill_sender``); ``seed`` fixes their decisions and the order of concurrent messages;
    ``latency`` is the (min, max) virtual seconds a message takes. Use it instead of
    ``actorium.init()``: it refuses to start while a runtime runs, and ends every simulated
    process on leaving.
    """
    if is_initialized():
        raise RuntimeError("simulate() replaces actorium.init(): call actorium.shutdown() "
                           "before entering it")
    for fault in faults:
        if not isinstance(fault, MessageFault):
            raise TypeError(f"simulate() takes message faults (drop(), delay(), ...) as "
                            f"positional arguments, got {type(fault).__name__}")
        if fault.roles == ("head",):
            raise ValueError(f"the simulation has no head service (one node, no cluster): "
                             f"{fault.action} for roles=('head',) would never apply")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ValueError(f"seed must be an int, got {seed!r}")
    if isinstance(num_cpus, bool) or not isinstance(num_cpus, int) or num_cpus < 1:
        raise ValueError(f"num_cpus must be a positive int, got {num_cpus!r}")
    low, high = latency
    if not 0.0 <= low <= high:
        raise ValueError(f"latency must be (min, max) seconds with 0 <= min <= max, "
                         f"got {latency!r}")
    plan = FaultPlan(faults=tuple(faults), seed=seed) if faults else None
    simulator = Simulator(plan, seed, (float(low), float(high)), num_cpus, namespace)
    simulator.start()
    try:
        yield Simulation(simulator)
    finally:
        simulator.close()
