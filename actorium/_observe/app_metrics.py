"""Application metrics: what user code records (``util.metrics``), from process to node.

Process side: every process (driver or worker) has one ``ProcessMetrics`` registry. Recording
updates a cumulative value under a lock (about a microsecond); the process's periodic report
to its node (``worker_stats``: each second for workers, every two for drivers) carries a
snapshot of every family when something changed. Snapshots are cumulative, so a lost one
costs nothing.

Node side: ``NodeAppMetrics`` keeps each live process's latest snapshot and merges them: the
counters and histograms of all processes are summed per tag set (those of processes that
exited are kept, so counters never go down), and a gauge shows the value set most recently
by any process (a gauge of an exited process is dropped). The node serves the result on
``/metrics`` next to its own metrics, in the ``app_metrics`` state rows and on the dashboard.

Wire form of a family: ``[name, kind, description, tag_keys, boundaries, series]`` where a
series is ``[tag_values, value]``: a number for a counter, ``[value, set_time]`` for a
gauge, ``[bucket_counts, sum, count]`` for a histogram (one bucket per boundary, plus +Inf).
"""

from __future__ import annotations

import bisect
import logging
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from actorium._observe.metrics import PrometheusText

COUNTER, GAUGE, HISTOGRAM = "counter", "gauge", "histogram"
_GONE_REMEMBERED = 10_000
_log = logging.getLogger("actorium.app_metrics")


class _Family:
    __slots__ = ("name", "kind", "description", "tag_keys", "boundaries", "series")

    def __init__(self, name: str, kind: str, description: str, tag_keys: tuple[str, ...],
                 boundaries: tuple[float, ...] | None) -> None:
        self.name = name
        self.kind = kind
        self.description = description
        self.tag_keys = tag_keys
        self.boundaries = boundaries
        self.series: dict[tuple[str, ...], Any] = {}

    def shape(self) -> tuple[Any, ...]:
        return (self.kind, self.tag_keys, self.boundaries)


class ProcessMetrics:
    """This process's application metrics (any thread may record)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._families: dict[str, _Family] = {}
        self._changed = False

    def declare(self, name: str, kind: str, description: str, tag_keys: tuple[str, ...],
                boundaries: Sequence[float] | None = None) -> str:
        """Make a family known; declaring it again with the same shape is harmless.

        Raises ``ValueError`` if ``name`` was declared with another kind, tag keys or
        boundaries in this process (one name is one time series family).
        """
        bounds = tuple(boundaries) if boundaries is not None else None
        with self._lock:
            family = self._families.get(name)
            if family is None:
                self._families[name] = _Family(name, kind, description, tag_keys, bounds)
                self._changed = True
                return name
            if family.shape() != (kind, tag_keys, bounds):
                raise ValueError(f"metric {name!r} already exists as a {family.kind} with tag "
                                 f"keys {family.tag_keys}"
                                 + (f" and boundaries {list(family.boundaries)}"
                                    if family.boundaries else "")
                                 + "; use another name for a different metric")
            return name

    def record(self, name: str, tag_values: tuple[str, ...], value: float) -> None:
        """Add to a counter, set a gauge or observe into a histogram (declared first)."""
        family = self._families[name]
        kind = family.kind
        if kind == GAUGE:
            stamped = [value, time.time()]
        with self._lock:
            series = family.series
            self._changed = True
            if kind == COUNTER:
                series[tag_values] = series.get(tag_values, 0) + value
            elif kind == GAUGE:
                series[tag_values] = stamped
            else:
                assert family.boundaries is not None
                slot = series.get(tag_values)
                if slot is None:
                    slot = series[tag_values] = [[0] * (len(family.boundaries) + 1), 0.0, 0]
                slot[0][bisect.bisect_left(family.boundaries, value)] += 1
                slot[1] += value
                slot[2] += 1

    def snapshot(self, *, only_if_changed: bool = True) -> list[list[Any]] | None:
        """Every family in wire form, or None if nothing changed since the last snapshot."""
        with self._lock:
            if only_if_changed and not self._changed:
                return None
            self._changed = False
            return [[f.name, f.kind, f.description, list(f.tag_keys),
                     list(f.boundaries) if f.boundaries is not None else None,
                     [[list(tags), _copy(value)] for tags, value in f.series.items()]]
                    for f in self._families.values()]


def _copy(value: Any) -> Any:
    if isinstance(value, list):
        return [list(part) if isinstance(part, list) else part for part in value]
    return value


_registry: ProcessMetrics | None = None
_registry_lock = threading.Lock()


def process_metrics() -> ProcessMetrics:
    """This process's registry (made on first use: nothing happens at import)."""
    global _registry
    with _registry_lock:
        if _registry is None:
            _registry = ProcessMetrics()
        return _registry


# ---------------------------------------------------------------------- node side
class NodeAppMetrics:
    """The application metrics of every process of one node, merged for people."""

    def __init__(self) -> None:
        self.latest: dict[bytes, list[list[Any]]] = {}
        self.retired: dict[str, list[list[Any]]] = {}     # name -> [family] of exited ones
        self.conflicts: set[str] = set()
        # Processes already gone: a report of theirs that arrives late must not count twice.
        self._gone: dict[bytes, None] = {}

    def ingest(self, process_id: bytes, families: list[list[Any]]) -> None:
        if process_id not in self._gone:
            self.latest[process_id] = families

    def process_gone(self, process_id: bytes) -> None:
        """Keep what an exited process counted (counters, histograms); drop its gauges."""
        self._gone[process_id] = None
        while len(self._gone) > _GONE_REMEMBERED:
            del self._gone[next(iter(self._gone))]
        for family in self.latest.pop(process_id, ()):
            if family[1] != GAUGE:
                self.retired.setdefault(family[0], []).append(family)

    def merged(self) -> list[dict[str, Any]]:
        """One dict per family: name, kind, description, tag_keys, boundaries, series
        (``{tag_values tuple: merged value}``), sorted by name."""
        out: dict[str, dict[str, Any]] = {}
        sources = [*self.retired.values(), *self.latest.values()]
        for families in sources:
            for name, kind, description, tag_keys, boundaries, series in families:
                merged = out.get(name)
                if merged is None:
                    merged = out[name] = {"name": name, "kind": kind,
                                          "description": description,
                                          "tag_keys": list(tag_keys), "boundaries": boundaries,
                                          "series": {}}
                elif (merged["kind"], merged["tag_keys"], merged["boundaries"]) != (
                        kind, list(tag_keys), boundaries):
                    if name not in self.conflicts:   # declared differently elsewhere
                        self.conflicts.add(name)
                        _log.warning("application metric %r is declared differently by two "
                                     "processes; the node shows the first declaration", name)
                    continue
                for tags, value in series:
                    _merge(merged, tuple(tags), value)
        return [out[name] for name in sorted(out)]

    def rows(self) -> list[dict[str, Any]]:
        """State rows: one per (family, tag set), with the value as people read it."""
        rows = []
        for family in self.merged():
            for tags, value in sorted(family["series"].items()):
                row = {"name": family["name"], "kind": family["kind"],
                       "description": family["description"],
                       "tags": dict(zip(family["tag_keys"], tags, strict=True))}
                if family["kind"] == COUNTER:
                    row["value"] = value
                elif family["kind"] == GAUGE:
                    row["value"], row["time"] = value
                else:
                    buckets, total, count = value
                    row.update(value=count, sum=total, count=count, buckets=buckets,
                               boundaries=family["boundaries"])
                rows.append(row)
        return rows


def render_rows(out: PrometheusText, rows: list[dict[str, Any]]) -> None:
    """Add application metrics to a Prometheus exposition, from state rows of one node or of
    several (the head's /metrics covers the cluster): rows of the same metric and tags are
    merged as a node merges its processes (sums; the latest gauge)."""
    families: dict[str, dict[str, Any]] = {}
    for row in rows:
        family = families.setdefault(row["name"], {"kind": row["kind"],
                                                   "description": row["description"],
                                                   "boundaries": row.get("boundaries"),
                                                   "series": {}})
        if family["kind"] != row["kind"] or family["boundaries"] != row.get("boundaries"):
            continue   # declared differently on another node: not mixed in
        key = tuple(row["tags"].items())   # in the order of the tag keys
        if row["kind"] == COUNTER:
            value: Any = row["value"]
        elif row["kind"] == GAUGE:
            value = [row["value"], row["time"]]
        else:
            value = [row["buckets"], row["sum"], row["count"]]
        _merge(family, key, value)
    for name in sorted(families):
        family = families[name]
        help_text = family["description"] or f"application metric {name}"
        series = sorted(family["series"].items())
        if family["kind"] == COUNTER:
            total = name if name.endswith("_total") else f"{name}_total"
            out.family(total, "counter", help_text, [(dict(tags), v) for tags, v in series])
        elif family["kind"] == GAUGE:
            out.family(name, "gauge", help_text, [(dict(tags), v[0]) for tags, v in series])
        else:
            out.histogram(name, help_text, [(dict(tags), buckets, total, count)
                                            for tags, (buckets, total, count) in series],
                          bounds=family["boundaries"])


def _merge(family: dict[str, Any], tags: tuple[str, ...], value: Any) -> None:
    series = family["series"]
    current = series.get(tags)
    kind = family["kind"]
    if current is None:
        series[tags] = _copy(value)
    elif kind == COUNTER:
        series[tags] = current + value
    elif kind == GAUGE:
        if value[1] >= current[1]:
            series[tags] = list(value)
    else:
        current[0] = [a + b for a, b in zip(current[0], value[0], strict=True)]
        current[1] += value[1]
        current[2] += value[2]
