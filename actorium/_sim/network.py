"""The simulated network: messages between the simulation's processes, in virtual time.

Every process of the simulation (the driver, the node, each worker) has an address and a
``Sender``. A message leaves at once and is handed to its receiver after a *latency* drawn
from the seed, so concurrent senders interleave differently per seed and the same seed gives
the same interleaving. Each (sender, receiver) link keeps its order, as a ZeroMQ connection
does. The fault plan applies here, per sending process, exactly as ``_faults.injector`` does
in a real process: the same decisions from the same seed, drops, duplicates, delays and
reorders (unwrapped at the receiver by the same ``Receiver``); a kill ends the simulated
sending process instead of the real one.

Messages are copied to bytes on the way (a receiver never shares memory with its sender).
"""

from __future__ import annotations

import asyncio
import pickle
import random
from collections.abc import Callable, Sequence
from typing import Any

import zmq

from actorium._faults.injector import Injector, Receiver
from actorium._faults.plan import FaultPlan, MessageFault, faults_of

Handler = Callable[[list[Any]], None]


def _as_bytes(frame: Any) -> bytes:
    if isinstance(frame, bytes):
        return frame
    if isinstance(frame, zmq.Frame):
        return frame.bytes
    if isinstance(frame, pickle.PickleBuffer):
        return bytes(frame.raw())
    return bytes(frame)


class _SimInjector(Injector):
    """The real injector, whose kills end a simulated process instead of this one."""

    def __init__(self, plan: FaultPlan, faults: Sequence[MessageFault],
                 send: Callable[[str, Sequence[Any]], None], kill: Callable[[], None]) -> None:
        super().__init__(plan, faults, send)
        self._kill = kill

    def _apply(self, fault: MessageFault, applied: int, address: str,
               frames: Sequence[Any]) -> None:
        if fault.action == "kill_before":
            self._kill()
        elif fault.action == "kill_after":
            self._send(address, frames)
            self._kill()
        else:
            super()._apply(fault, applied, address, frames)


class Network:
    """Addresses to receivers, and the clock-driven delivery between them."""

    def __init__(self, loop: asyncio.AbstractEventLoop, seed: int, plan: FaultPlan | None,
                 latency: tuple[float, float]) -> None:
        self.loop = loop
        self.plan = plan
        self.latency = latency
        self._rng = random.Random(seed)
        self._receivers: dict[str, Handler] = {}
        self.delivered = 0
        self.lost_to_dead = 0          # messages whose receiver had died meanwhile
        self.after_delivery: Callable[[], None] | None = None

    def attach(self, address: str, handle: Callable[[list[Any]], None]) -> None:
        """Make ``handle`` receive what is sent to ``address`` (header bytes, then frames with
        a ``.buffer``, as a ZeroMQ inbox hands them over)."""
        def inner(frames: list[Any]) -> None:
            handle([frames[0], *(zmq.Frame(frame) for frame in frames[1:])])

        receiver: Handler = inner
        plan = self.plan
        if plan is not None and any(f.action in ("delay", "reorder") for f in plan.faults):
            receiver = Receiver(inner)
        self._receivers[address] = receiver

    def detach(self, address: str) -> None:
        """The process at ``address`` is gone: what is still on its way to it is lost."""
        self._receivers.pop(address, None)

    def sender(self, address: str, role: str, kill: Callable[[], None]) -> Sender:
        return Sender(self, address, role, kill)

    def random(self) -> float:
        return self._rng.random()

    def _deliver(self, address: str, frames: list[bytes]) -> None:
        receiver = self._receivers.get(address)
        if receiver is None:
            self.lost_to_dead += 1
            return
        self.delivered += 1
        receiver(frames)
        hook = self.after_delivery
        if hook is not None:
            hook()


class Sender:
    """One simulated process's way out: its fault injector and its links' order."""

    def __init__(self, network: Network, address: str, role: str,
                 kill: Callable[[], None]) -> None:
        self._network = network
        self.address = address
        self.role = role
        self.dead = False
        self._last_due: dict[str, float] = {}
        plan = network.plan
        faults = faults_of(role, plan) if plan is not None else []
        self.injector: Injector | None = (
            _SimInjector(plan, faults, self._route, kill) if plan is not None and faults
            else None)

    def send(self, address: str, frames: Sequence[Any]) -> None:
        """Send from this process (any thread of the simulation); a dead one sends nothing."""
        if self.dead:
            return
        copied = [_as_bytes(frame) for frame in frames]
        if self.injector is not None:
            self.injector.send(address, copied)
        else:
            self._route(address, copied)

    def forget(self, address: str) -> None:
        """(The transport's call when a peer died; nothing is cached here.)"""

    def close(self, flush_seconds: float = 0.0) -> None:
        self.dead = True

    def _route(self, address: str, frames: Sequence[Any]) -> None:
        if self.dead:
            return   # killed by its own fault (kill_before) a moment ago
        network = self._network
        loop = network.loop
        low, high = network.latency
        due = loop.time() + low + (high - low) * network.random()
        last = self._last_due.get(address)
        if last is not None and due <= last:
            due = last + 1e-9    # one link keeps its order
        self._last_due[address] = due
        loop.call_soon_threadsafe(loop.call_at, due, network._deliver, address, list(frames))
