"""Breaking messages on their way out: the one hook on the send path.

``interpose(outbox, role)`` is called once when a process creates its outbox. Without a fault
plan (the normal case) it returns at once and the outbox is untouched: the send path costs
nothing. With a plan it replaces the outbox's ``send`` (and ``close``) on that one object by
the injector's, which reads each message's kind from its header and applies the plan.

Decisions are a pure function of (seed, fault, n) where n counts the matching messages this
process has sent: the same seed and the same sequence of sends make the same decisions. What
the seed cannot fix is the order the OS runs threads and processes in.

Delayed and held-back messages are sent by one timer thread per process (started on first
use, stopped when the outbox closes); it has its own sockets, as every sending thread does.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from actorium._faults.plan import FaultPlan, MessageFault, faults_of, plan_from_environment

Send = Callable[[str, Sequence[Any]], None]

# How long ``kill_after`` lets ZeroMQ's io thread flush the message before the process dies.
_FLUSH_BEFORE_KILL = 0.05


class _Outbox(Protocol):
    def send(self, address: str, frames: Sequence[Any]) -> None: ...
    def close(self, flush_seconds: float = 0.0) -> None: ...


def kind_of(frames: Sequence[Any]) -> int:
    """The message kind, read from the first bytes of the msgpack header (no full decode)."""
    header = memoryview(frames[0])
    first = header[0]
    if first & 0xF0 == 0x90:      # fixarray: the kind (a positive fixint) follows
        return int(header[1])
    if first == 0xDC:             # array16
        return int(header[3])
    return -1


def _uniform(seed: int, rule: int, n: int) -> float:
    digest = hashlib.blake2b(f"{seed}:{rule}:{n}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


class _Timer:
    """Runs callbacks at their due time on one daemon thread (delayed and held messages)."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="actorium-faults", daemon=True)
        self._thread.start()

    def at(self, due: float, callback: Callable[[], None]) -> None:
        with self._wake:
            heapq.heappush(self._heap, (due, next(self._order), callback))
            self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._stopped and (not self._heap or
                                             self._heap[0][0] > time.monotonic()):
                    timeout = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._wake.wait(timeout)
                if self._stopped:
                    return
                _, _, callback = heapq.heappop(self._heap)
            try:
                callback()
            except Exception:  # noqa: BLE001 - a peer gone meanwhile: the message is lost
                pass

    def stop(self) -> None:
        with self._wake:
            self._stopped = True
            self._heap.clear()
            self._wake.notify()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=2.0)


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
        self._held: dict[str, list[Sequence[Any]]] = {}
        self._timer: _Timer | None = None
        self._closed = False
        self.applied: Counter[str] = Counter()   # action -> messages it hit (for reports)

    def send(self, address: str, frames: Sequence[Any]) -> None:
        rules = self._rules.get(kind_of(frames))
        if rules is not None:
            with self._lock:
                for index, fault in rules:
                    self._counts[index] += 1
                    n = self._counts[index]
                    hit = n == fault.nth if fault.nth is not None else \
                        _uniform(self.seed, index, n) < fault.share
                    if hit:
                        self.applied[fault.action] += 1
                        break
                else:
                    fault = None
            if fault is not None:
                self._apply(fault, address, frames)
                return
        self._send(address, frames)
        if self._held:
            self._release(address)

    def _apply(self, fault: MessageFault, address: str, frames: Sequence[Any]) -> None:
        action = fault.action
        if action == "drop":
            return
        if action == "duplicate":
            self._send(address, frames)
            self._send(address, frames)
        elif action == "delay":
            low, high = fault.delay
            seconds = low + (high - low) * _uniform(self.seed, -1, self.applied[action])
            self._later(seconds, lambda: self._send(address, frames))
        elif action == "reorder":
            with self._lock:
                self._held.setdefault(address, []).append(frames)
            self._later(fault.delay[1], lambda: self._release(address))
        elif action == "kill_before":
            os.kill(os.getpid(), signal.SIGKILL)
        elif action == "kill_after":
            self._send(address, frames)
            time.sleep(_FLUSH_BEFORE_KILL)
            os.kill(os.getpid(), signal.SIGKILL)

    def _later(self, seconds: float, callback: Callable[[], None]) -> None:
        with self._lock:
            if self._closed:
                return
            if self._timer is None:
                self._timer = _Timer()
            timer = self._timer
        timer.at(time.monotonic() + seconds, callback)

    def _release(self, address: str) -> None:
        with self._lock:
            held = self._held.pop(address, None)
        for frames in held or ():
            self._send(address, frames)

    def close(self) -> None:
        """Stop the timer; what it still held is lost, as it would be with the process."""
        with self._lock:
            self._closed = True
            timer, self._timer = self._timer, None
            self._held.clear()
        if timer is not None:
            timer.stop()


def interpose(outbox: _Outbox, role: str) -> Injector | None:
    """Put the fault plan of this process (if any) on ``outbox``'s send path."""
    plan = plan_from_environment()
    if plan is None:
        return None
    faults = faults_of(role, plan)
    if not faults:
        return None
    injector = Injector(plan, faults, outbox.send)
    close = outbox.close

    def close_outbox(flush_seconds: float = 0.0) -> None:
        injector.close()
        close(flush_seconds)

    # Instance attributes shadow the methods on this one outbox only.
    setattr(outbox, "send", injector.send)  # noqa: B010
    setattr(outbox, "close", close_outbox)  # noqa: B010
    return injector
