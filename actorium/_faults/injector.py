"""Breaking messages on their way out: the one hook on the send path.

``interpose(outbox, role)`` is called once when a process creates its outbox. Without a fault
plan (the normal case) it returns at once and the outbox is untouched: the send path costs
nothing. With a plan it replaces the outbox's ``send`` on that one object by
the injector's, which reads each message's kind from its header and applies the plan.

Decisions are a pure function of (seed, fault, n) where n counts the matching messages this
process has sent: the same seed and the same sequence of sends make the same decisions. What
the seed cannot fix is the order the OS runs threads and processes in.

A delayed or held-back (reordered) message leaves the sender at once, wrapped in an
*envelope* frame that says how long the receiver keeps it before handling it: the message is
in flight, as on a slow network, so it still arrives if its sender dies meanwhile. (Keeping it
in the sender instead turned "delay, then kill the sender" into "drop", and a task worker
killed while its delayed result was still inside it lost the result of a task the node had
already been told was finished: a task with ``max_retries=-1`` was never run again.)
``interpose_inbox`` unwraps envelopes on the receiving side, on the receiver's event loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import struct
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from actorium._faults.plan import FaultPlan, MessageFault, faults_of, plan_from_environment
from actorium._transport.links import Links, enabled_by_environment, message_kind

Send = Callable[[str, Sequence[Any]], None]

# How long ``kill_after`` lets ZeroMQ's io thread flush the message before the process dies.
_FLUSH_BEFORE_KILL = 0.05
# The envelope: a first frame no msgpack header can start with (0xc1 is never used by
# msgpack), then the action (D: delay, H: hold until the next message) and seconds.
_ENVELOPE = b"\xc1actorium-fault"
_DELAY, _HOLD = b"D", b"H"
_ENVELOPE_SIZE = len(_ENVELOPE) + 1 + 8
Handler = Callable[[list[Any]], None]


class _Outbox(Protocol):
    local_address: str

    def send(self, address: str, frames: Sequence[Any]) -> None: ...

    def forget(self, address: str) -> None: ...


def _uniform(seed: int, rule: int, n: int) -> float:
    digest = hashlib.blake2b(f"{seed}:{rule}:{n}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


class Injector:
    """Applies a plan's message faults to one process's sends."""

    def __init__(self, plan: FaultPlan, faults: Sequence[MessageFault], send: Send) -> None:
        self.seed = plan.seed
        self._send = send
        self._rules: dict[int, list[tuple[int, MessageFault]]] = {}
        for index, fault in enumerate(faults):
            for kind in fault.kinds:
                self._rules.setdefault(int(kind), []).append((index, fault))
        self._counts: Counter[int] = Counter()
        self._lock = threading.Lock()
        self.applied: Counter[str] = Counter()   # action -> messages it hit (for reports)

    def send(self, address: str, frames: Sequence[Any]) -> None:
        rules = self._rules.get(message_kind(frames))
        if rules is not None:
            with self._lock:
                for index, fault in rules:
                    self._counts[index] += 1
                    n = self._counts[index]
                    hit = n == fault.nth if fault.nth is not None else \
                        _uniform(self.seed, index, n) < fault.share
                    if hit:
                        self.applied[fault.action] += 1
                        applied = self.applied[fault.action]
                        break
                else:
                    fault = None
            if fault is not None:
                self._apply(fault, applied, address, frames)
                return
        self._send(address, frames)

    def _apply(self, fault: MessageFault, applied: int, address: str,
               frames: Sequence[Any]) -> None:
        action = fault.action
        if action == "drop":
            return
        if action == "duplicate":
            self._send(address, frames)
            self._send(address, frames)
        elif action == "delay":
            low, high = fault.delay
            seconds = low + (high - low) * _uniform(self.seed, -1, applied)
            self._send(address, [envelope(_DELAY, seconds), *frames])
        elif action == "reorder":
            self._send(address, [envelope(_HOLD, fault.delay[1]), *frames])
        elif action == "kill_before":
            os.kill(os.getpid(), signal.SIGKILL)
        elif action == "kill_after":
            self._send(address, frames)
            time.sleep(_FLUSH_BEFORE_KILL)
            os.kill(os.getpid(), signal.SIGKILL)


def envelope(action: bytes, seconds: float) -> bytes:
    """The frame put before a delayed (``_DELAY``) or held (``_HOLD``) message."""
    return _ENVELOPE + action + struct.pack("!d", seconds)


class Receiver:
    """Unwraps enveloped messages on the receiving event loop, then hands them on.

    A delayed message is handled ``seconds`` after it arrived, and what arrives after it waits
    behind it: a slow link delays, it does not reorder (the transport keeps each sender's
    order, and the runtime relies on it: a task's code travels only with its first
    submission). A held one waits until the next message this process receives has been
    handled (it overtakes), or ``seconds`` at most: reordering is ``reorder``'s job. Runs on
    the loop thread only.
    """

    def __init__(self, handle: Handler) -> None:
        self._handle = handle
        self._held: list[list[Any]] = []
        self._waiting: deque[tuple[float, list[Any]]] = deque()   # (due, message), FIFO
        self._pump: asyncio.TimerHandle | None = None

    def __call__(self, frames: list[Any]) -> None:
        first = memoryview(frames[0])
        if first.nbytes == _ENVELOPE_SIZE and first[:len(_ENVELOPE)] == _ENVELOPE:
            action = bytes(first[len(_ENVELOPE):len(_ENVELOPE) + 1])
            (seconds,) = struct.unpack("!d", first[len(_ENVELOPE) + 1:])
            message = frames[1:]
            loop = asyncio.get_running_loop()
            if action == _DELAY:
                self._waiting.append((loop.time() + seconds, message))
                self._schedule(loop)
            else:
                self._held.append(message)
                loop.call_later(seconds, self._release, message)
            return
        if self._waiting:   # behind a delayed message: keep the order
            self._waiting.append((0.0, frames))
            return
        self._deliver(frames)

    def _deliver(self, frames: list[Any]) -> None:
        self._handle(frames)
        while self._held:
            self._handle(self._held.pop(0))

    def _schedule(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._pump is None and self._waiting:
            self._pump = loop.call_at(self._waiting[0][0], self._drain)

    def _drain(self) -> None:
        self._pump = None
        loop = asyncio.get_running_loop()
        now = loop.time()
        while self._waiting and self._waiting[0][0] <= now:
            self._deliver(self._waiting.popleft()[1])
        self._schedule(loop)

    def _release(self, message: list[Any]) -> None:
        for index, held in enumerate(self._held):
            if held is message:   # not yet overtaken: its window is over
                del self._held[index]
                self._handle(message)
                return


def interpose(outbox: _Outbox, role: str) -> Injector | None:
    """Put the fault plan of this process (if any) on ``outbox``'s send path, and reliable
    delivery above it when the plan (or ``ACTORIUM_RELIABLE_LINKS``) asks for it."""
    plan = plan_from_environment()
    reliable = enabled_by_environment() or (plan is not None and plan.reliable)
    if plan is None and not reliable:
        return None
    faults = faults_of(role, plan) if plan is not None else ()
    injector = Injector(plan, faults, outbox.send) if plan is not None and faults else None
    direct = outbox.send
    wire = injector.send if injector is not None else direct
    if reliable:
        links = Links(outbox.local_address, wire, direct)
        forget = outbox.forget

        def forget_peer(address: str) -> None:
            forget(address)
            links.forget(address)

        # Instance attributes shadow the methods on this one outbox only.
        setattr(outbox, "send", links.send)  # noqa: B010
        setattr(outbox, "forget", forget_peer)  # noqa: B010
        setattr(outbox, "links", links)  # noqa: B010
    elif injector is not None:
        setattr(outbox, "send", injector.send)  # noqa: B010
    return injector


def interpose_inbox(handle: Handler, outbox: object | None = None) -> Handler:
    """The message handler of this process's inbox: ``handle`` itself unless the plan
    delays or reorders messages (of any process: any of them may send to this one), or
    ``outbox`` delivers reliably; else the layers that undo that in front of it."""
    links: Links | None = vars(outbox).get("links") if outbox is not None else None
    if links is not None:
        handle = links.receiver(handle)
    plan = plan_from_environment()
    if plan is None or not any(f.action in ("delay", "reorder") for f in plan.faults):
        return handle
    return Receiver(handle)
