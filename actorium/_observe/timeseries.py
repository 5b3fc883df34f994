"""Time series the runtime keeps of itself: the last hour, a few seconds apart, bounded memory.

A node samples its figures every ``STEP`` seconds (``_node/sampler.py``) and writes one value
per series and tick here. Every series is a ring of ``SLOTS`` float32 values indexed by the
tick number (``int(time / STEP)``), so a point costs 4 bytes and needs no timestamp: a ring
of one hour is 7 KiB whatever happens. A tick a series missed (the node was busy, the actor
was idle) reads back as absent, never as a stale value.

Series are keyed by ``(scope, key, metric)``: scope ``node`` (key: the node id), ``class``
(actor class), ``function`` (remote function), ``actor`` (actor id) and ``app`` (a
``util.metrics`` series, key ``name{tag=value,...}``). The number of keys of each scope is
capped (``MAX_KEYS``); when a new key would exceed it, the key written least recently goes,
so with 100,000 actors the runtime keeps the series of the few hundred that were busy last.
"""

from __future__ import annotations

import math
from array import array
from collections import OrderedDict
from typing import Any

STEP = 2.0                       # seconds between samples
SLOTS = int(3600 / STEP)          # one hour
SCOPES = ("node", "class", "function", "actor", "app")
MAX_KEYS = {"node": 64, "class": 1000, "function": 1000, "actor": 300, "app": 1000}
_NAN = float("nan")


def tick_of(when: float) -> int:
    """The tick (sample slot) a wall-clock time falls in."""
    return int(when // STEP)


class Ring:
    """One series: the value of each of the last ``SLOTS`` ticks (NaN where none)."""

    __slots__ = ("values", "last_tick")

    def __init__(self) -> None:
        self.values = array("f", [_NAN]) * SLOTS
        self.last_tick = -1

    def put(self, tick: int, value: float) -> None:
        if tick < self.last_tick:
            return   # the clock went back: keep what we have rather than mix orders
        # Ticks skipped since the last write are cleared, or they would show an hour-old value.
        gap = min(tick - self.last_tick - 1, SLOTS) if self.last_tick >= 0 else 0
        for missed in range(self.last_tick + 1, self.last_tick + 1 + gap):
            self.values[missed % SLOTS] = _NAN
        self.values[tick % SLOTS] = value
        self.last_tick = tick

    def points(self, since_tick: int, now_tick: int) -> list[list[float]]:
        """``[time, value]`` of every present tick in ``(since_tick, now_tick]``."""
        first = max(since_tick + 1, now_tick - SLOTS + 1, self.last_tick - SLOTS + 1)
        last = min(now_tick, self.last_tick)
        out: list[list[float]] = []
        for tick in range(first, last + 1):
            value = self.values[tick % SLOTS]
            if not math.isnan(value):
                out.append([tick * STEP, round(float(value), 4)])
        return out


class SeriesStore:
    """Every series of one node, by scope, key and metric."""

    def __init__(self) -> None:
        self.scopes: dict[str, OrderedDict[str, dict[str, Ring]]] = {
            scope: OrderedDict() for scope in SCOPES}

    def put(self, when: float, scope: str, key: str, values: dict[str, float | None]) -> None:
        """Record the metrics of one key for the tick of ``when`` (None values are skipped)."""
        keys = self.scopes[scope]
        metrics = keys.get(key)
        if metrics is None:
            metrics = keys[key] = {}
            while len(keys) > MAX_KEYS[scope]:
                keys.popitem(last=False)
        else:
            keys.move_to_end(key)
        tick = tick_of(when)
        for metric, value in values.items():
            if value is None:
                continue
            ring = metrics.get(metric)
            if ring is None:
                ring = metrics[metric] = Ring()
            ring.put(tick, value)

    def catalog(self) -> dict[str, dict[str, list[str]]]:
        """scope -> key -> the metrics recorded for it."""
        return {scope: {key: sorted(metrics) for key, metrics in keys.items()}
                for scope, keys in self.scopes.items()}

    def query(self, scope: str, key: str | None, metrics: list[str] | None, *,
              since: float, now: float) -> list[dict[str, Any]]:
        """Rows ``{scope, key, metric, points}``; ``key`` or ``metrics`` None means all.

        Raises ``ValueError`` for an unknown scope.
        """
        if scope not in self.scopes:
            raise ValueError(f"unknown series scope {scope!r}; expected one of "
                             f"{', '.join(SCOPES)}")
        keys = self.scopes[scope]
        chosen = [key] if key is not None else list(keys)
        since_tick, now_tick = tick_of(since), tick_of(now)
        rows = []
        for name in chosen:
            for metric, ring in sorted(keys.get(name, {}).items()):
                if metrics is not None and metric not in metrics:
                    continue
                rows.append({"scope": scope, "key": name, "metric": metric,
                             "points": ring.points(since_tick, now_tick)})
        return rows

    def memory_bytes(self) -> int:
        """About how much the rings take (the bound the docs promise)."""
        rings = sum(len(metrics) for keys in self.scopes.values() for metrics in keys.values())
        return rings * SLOTS * 4


def percentile(buckets: list[int], bounds: tuple[float, ...] | list[float],
               fraction: float) -> float | None:
    """The ``fraction`` quantile of a histogram, interpolated within its bucket.

    ``buckets`` counts observations per bucket of ``bounds`` (+Inf last); None if empty. A
    quantile that falls in the +Inf bucket reads as the largest bound.
    """
    total = sum(buckets)
    if total <= 0 or not bounds:
        return None
    wanted = fraction * total
    seen = 0.0
    for index, count in enumerate(buckets):
        if count and seen + count >= wanted:
            if index >= len(bounds):
                return float(bounds[-1])
            low = bounds[index - 1] if index > 0 else 0.0
            return low + (bounds[index] - low) * (wanted - seen) / count
        seen += count
    return float(bounds[-1])
