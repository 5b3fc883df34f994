"""Restart decisions, as in Erlang/OTP: back-off between restarts and restart intensity.

* **Back-off.** A restart waits ``first * 2**streak`` seconds (capped at ``longest``), times a
  random factor in [0.5, 1] so that actors that died together do not come back in lockstep.
  ``streak`` counts restarts in a row whose incarnation lived less than ``longest``: an actor
  that ran for a while before it crashed comes back after ``first`` again. A crash-looping
  actor therefore settles at one attempt per ``longest`` seconds and costs almost no CPU.
* **Intensity.** More than ``limit`` restarts within ``period`` seconds means restarting does
  not help: the actor (or supervisor) is given up on, and whoever supervises it is told.

Pure logic with an injectable clock and random source, so it is tested without sleeping.
"""

from __future__ import annotations

import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

DEFAULT_BACKOFF = (0.1, 5.0)


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delay before a restart: ``first`` doubling per quick restart, at most ``longest``."""

    first: float = DEFAULT_BACKOFF[0]
    longest: float = DEFAULT_BACKOFF[1]

    def delay(self, streak: int, draw: float) -> float:
        """The delay for the ``streak``-th quick restart in a row; ``draw`` is in [0, 1)."""
        if self.first <= 0:
            return 0.0
        base = min(self.longest, self.first * 2.0 ** min(streak, 60))
        return base * (0.5 + draw / 2)


@dataclass(frozen=True, slots=True)
class Intensity:
    """At most ``limit`` restarts within ``period`` seconds (OTP's intensity and period)."""

    limit: int
    period: float

    def describe(self) -> str:
        return f"more than {self.limit} restart(s) within {self.period:g} s"


class RestartHistory:
    """The restarts of one actor or supervisor: decides each next restart's delay, or refusal."""

    __slots__ = ("backoff", "intensity", "times", "streak", "alive_since", "_clock", "_draw")

    def __init__(self, backoff: Backoff, intensity: Intensity | None, *,
                 clock: Callable[[], float] = time.monotonic,
                 draw: Callable[[], float] = random.random) -> None:
        self.backoff = backoff
        self.intensity = intensity
        self.times: deque[float] = deque()
        self.streak = 0
        self._clock = clock
        self._draw = draw
        self.alive_since = clock()

    def next_restart(self) -> float | None:
        """Record a restart now; its delay in seconds, or None if the intensity is exceeded."""
        now = self._clock()
        if now - self.alive_since >= self.backoff.longest:
            self.streak = 0   # the last incarnation was healthy for a while
        intensity = self.intensity
        if intensity is not None:
            while self.times and now - self.times[0] > intensity.period:
                self.times.popleft()
            if len(self.times) >= intensity.limit:
                return None
        self.times.append(now)
        delay = self.backoff.delay(self.streak, self._draw())
        self.streak += 1
        self.alive_since = now + delay
        return delay


class Strategy(StrEnum):
    """Which children a supervisor restarts when one of them dies."""

    ONE_FOR_ONE = "one_for_one"      # only the one that died
    ONE_FOR_ALL = "one_for_all"      # all of them
    REST_FOR_ONE = "rest_for_one"    # the one that died and those started after it


class RestartType(StrEnum):
    """When a supervised child is restarted."""

    PERMANENT = "permanent"    # always
    TRANSIENT = "transient"    # only if it died abnormally (not by exit_actor() or a stop)
    TEMPORARY = "temporary"    # never


def should_restart(restart: RestartType, abnormal: bool) -> bool:
    """Whether a child of this restart type comes back after dying this way."""
    if restart is RestartType.PERMANENT:
        return True
    return restart is RestartType.TRANSIENT and abnormal


def affected(strategy: Strategy, children: list[bytes], died: bytes) -> list[bytes]:
    """The children (in start order) the strategy restarts when ``died`` dies."""
    if strategy is Strategy.ONE_FOR_ONE or died not in children:
        return [died]
    if strategy is Strategy.ONE_FOR_ALL:
        return list(children)
    return children[children.index(died):]
