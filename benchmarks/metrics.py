"""The :class:`Metric` value every row returns, and the timing helpers rows share.

All timing uses :func:`time.perf_counter`. Throughput is measured *by time*, not by a
fixed count: a trial repeats a unit of work until ``min_time`` seconds have passed,
so the same scale suits a slow and a fast backend. Every helper warms up first.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Better = Literal["higher", "lower"] | None


@dataclass
class Metric:
    """One measured figure: ``value`` in ``unit``.

    ``better`` says which way is good ("higher" for rates, "lower" for times and memory,
    ``None`` for informative counts that should not be compared). ``samples`` keeps the
    per-trial values when the value is a median of several trials.
    """

    value: float
    unit: str
    better: Better = "higher"
    samples: list[float] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Metric:
        return cls(
            value=float(data["value"]),
            unit=str(data["unit"]),
            better=data.get("better", "higher"),
            samples=[float(x) for x in data.get("samples", [])],
        )


Metrics = dict[str, Metric]


def rate(samples: Sequence[float], unit: str) -> Metric:
    """A higher-is-better metric whose value is the median of per-trial rates."""
    return Metric(statistics.median(samples), unit, "higher", [float(s) for s in samples])


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile ``q`` (0..100) of an already sorted, non-empty sequence."""
    if not sorted_values:
        raise ValueError("percentile of no values")
    rank = max(1, math.ceil(q / 100.0 * len(sorted_values)))
    return float(sorted_values[rank - 1])


def _run_for(work: Callable[[], int], seconds: float) -> tuple[int, float]:
    """Call ``work`` (which returns how many ops it did) until ``seconds`` have elapsed."""
    done = 0
    start = time.perf_counter()
    while True:
        done += work()
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return done, elapsed


def measure_rate(
    work: Callable[[], int], *, warmup: float, min_time: float, trials: int
) -> list[float]:
    """Ops per second of ``work`` for each of ``trials`` trials, after a warm-up.

    ``work`` performs a small unit (e.g. 100 calls or one batch) and returns its op count.
    """
    _run_for(work, warmup)
    rates = []
    for _ in range(trials):
        done, elapsed = _run_for(work, min_time)
        rates.append(done / elapsed)
    return rates


async def _run_for_async(work: Callable[[], Awaitable[int]], seconds: float) -> tuple[int, float]:
    done = 0
    start = time.perf_counter()
    while True:
        done += await work()
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return done, elapsed


async def measure_rate_async(
    work: Callable[[], Awaitable[int]], *, warmup: float, min_time: float, trials: int
) -> list[float]:
    """:func:`measure_rate` for a coroutine function, to run inside an event loop."""
    await _run_for_async(work, warmup)
    rates = []
    for _ in range(trials):
        done, elapsed = await _run_for_async(work, min_time)
        rates.append(done / elapsed)
    return rates


def size_label(size: int) -> str:
    """A byte count as row metrics name it: ``1KiB``, ``16MiB``, ``1GiB``."""
    for unit, factor in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if size >= factor:
            return f"{size // factor}{unit}"
    return f"{size}B"


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    """Call ``fn`` once; return its result and the wall time in seconds."""
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start
