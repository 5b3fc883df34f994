"""Virtual time: an event loop whose clock jumps to the next timer instead of waiting for it.

asyncio asks its selector to wait until the earliest timer is due. ``VirtualClockLoop``'s
selector never waits: it moves the clock forward by that much and returns, so
``asyncio.sleep(3600)``, ``asyncio.wait_for(..., 30)`` and every ``call_later`` cost nothing
while still happening in the order their deadlines say. Nothing else runs meanwhile, so a jump
cannot skip work that was ready. When there is neither ready work nor a timer, the loop is
*idle*: nothing can ever happen again, and the selector raises ``Idle`` so the caller stops
instead of spinning.

``time.sleep``, ``time.monotonic`` and ``time.time`` called from the simulation's threads read
and move the same clock (``patch_time``); other threads keep the real ones.
"""

from __future__ import annotations

import asyncio
import selectors
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


class Idle(Exception):
    """Raised out of the loop when nothing is ready and no timer is set: a stall."""


class VirtualClock:
    """Seconds of virtual time since the simulation started; only ever moves forward."""

    # The same seed must give the same virtual times to the last bit. A deadline is computed
    # as start + now + timeout and a jump as deadline - (start + now): how those sums round
    # depends on the start, so the start must not depend on when the simulation runs. The
    # monotonic start is a constant (any value is a valid monotonic origin); the wall start
    # is the current second, a whole number, so its sums round alike until 2038.
    _MONOTONIC_START = 1_000_000.0

    def __init__(self) -> None:
        self.now = 0.0
        self._wall_start = float(int(time.time()))
        self._monotonic_start = self._MONOTONIC_START

    def advance(self, seconds: float) -> None:
        if seconds > 0:
            self.now += seconds

    def monotonic(self) -> float:
        return self._monotonic_start + self.now

    def wall(self) -> float:
        return self._wall_start + self.now


class _JumpingSelector(selectors.BaseSelector):
    """Polls the real selector (the loop's self-pipe) without waiting, then jumps the clock."""

    def __init__(self, clock: VirtualClock) -> None:
        self._clock = clock
        self._real = selectors.DefaultSelector()

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._real.unregister(fileobj)

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.modify(fileobj, events, data)

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = self._real.select(0)
        if ready or timeout == 0:
            return ready
        if timeout is None:
            raise Idle("nothing is ready and no timer is set")
        self._clock.advance(timeout)
        return []

    def close(self) -> None:
        self._real.close()

    def get_map(self) -> Any:
        return self._real.get_map()


class VirtualClockLoop(asyncio.SelectorEventLoop):
    """An asyncio loop on virtual time (see the module docstring)."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        super().__init__(_JumpingSelector(clock))

    def time(self) -> float:
        return self.clock.monotonic()


@contextmanager
def patch_time(clock: VirtualClock, owns: Callable[[], bool],
               sleep: Callable[[float], None]) -> Iterator[None]:
    """While the block runs, ``time.sleep/monotonic/time`` on threads for which ``owns()`` is
    true use the virtual clock (``sleep`` decides what a virtual sleep does); other threads
    (pytest's timeout, a library's helper thread) keep real time."""
    real_sleep, real_monotonic, real_time = time.sleep, time.monotonic, time.time

    def virtual_sleep(seconds: float) -> None:
        if not owns():
            return real_sleep(seconds)
        if seconds < 0:
            raise ValueError("sleep length must be non-negative")
        return sleep(seconds)

    def virtual_monotonic() -> float:
        return clock.monotonic() if owns() else real_monotonic()

    def virtual_time() -> float:
        return clock.wall() if owns() else real_time()

    setattr(time, "sleep", virtual_sleep)  # noqa: B010 - mypy: the stubs' signatures differ
    time.monotonic, time.time = virtual_monotonic, virtual_time
    try:
        yield
    finally:
        time.sleep, time.monotonic, time.time = real_sleep, real_monotonic, real_time


def thread_owner(idents: set[int]) -> Callable[[], bool]:
    """``owns()`` for ``patch_time``: true on the threads whose ident is in ``idents``."""
    return lambda: threading.get_ident() in idents
