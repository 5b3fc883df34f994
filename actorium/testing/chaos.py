"""Random kills at random moments, repeatable from a seed: ``with Chaos(seed=3): ...``.

A background thread of the test process sleeps a seeded random interval, picks a worker of the
chosen kinds (seeded too, by its place in pid order) and kills it, until the block ends. The
kills it made are listed in ``chaos.kills``, so a failing run says what it did. The seed fixes
the intervals and the choices; which call was running at each kill is up to the OS.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType

from actorium.testing.processes import WORKER_KINDS, live_workers


@dataclass(frozen=True)
class Kill:
    """One kill that ``Chaos`` made: when (seconds after start), which pid, of what kind."""

    at: float
    pid: int
    kind: str


class Chaos:
    """Kill a random worker every ``every`` = (min, max) seconds while the block runs.

    ``kinds``: which workers may be picked ("task", "host", "dedicated"). ``max_kills`` caps
    the total. Enter it after ``init()``; leaving the block stops the thread (and waits for it).
    """

    def __init__(self, *, seed: int = 0, every: tuple[float, float] = (0.2, 1.0),
                 kinds: Sequence[str] = WORKER_KINDS, max_kills: int | None = None,
                 sig: int = signal.SIGKILL) -> None:
        low, high = every
        if not 0 < low <= high:
            raise ValueError(f"every must be (min, max) seconds with 0 < min <= max, "
                             f"got {every!r}")
        for kind in kinds:
            if kind not in WORKER_KINDS:
                raise ValueError(f"unknown worker kind {kind!r}; use one of {WORKER_KINDS}")
        if max_kills is not None and max_kills < 0:
            raise ValueError(f"max_kills must be >= 0, got {max_kills}")
        self.every = (float(low), float(high))
        self.kinds = tuple(kinds)
        self.max_kills = max_kills
        self.sig = sig
        self.kills: list[Kill] = []
        self._random = random.Random(seed)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = 0.0

    def __enter__(self) -> Chaos:
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="actorium-chaos", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        while self.max_kills is None or len(self.kills) < self.max_kills:
            if self._stop.wait(self._random.uniform(*self.every)):
                return
            # One state query a round: under message faults each one takes a while.
            candidates = [(pid, kind) for pid, kind in live_workers() if kind in self.kinds]
            if not candidates:
                continue
            pid, kind = self._random.choice(sorted(candidates))
            try:
                os.kill(pid, self.sig)   # a worker of this runtime: the state API listed it
            except ProcessLookupError:
                continue   # it died on its own meanwhile
            self.kills.append(Kill(round(time.monotonic() - self._started, 3), pid, kind))
