"""Node side of metrics: merge workers' reports and render them in Prometheus text format.

Workers report cumulative counters each second (``worker_stats``); the node keeps the latest
report of each live worker and folds a dead worker's last report into ``retired`` totals, so
every ``*_total`` series only ever grows, as Prometheus expects of counters.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from typing import Any

from actorium._observe.worker_stats import LATENCY_BUCKETS

RECENT_CALLS = 5000
RECENT_FAILURES = 1000


class MetricsStore:
    """The latest statistics of every worker of one node, plus what dead workers left."""

    def __init__(self) -> None:
        self.latest: dict[bytes, dict[str, Any]] = {}
        self.pids: dict[bytes, int | None] = {}
        self.retired: dict[tuple[str, str], list[Any]] = {}
        self.retired_traffic = [0, 0, 0, 0]
        self.recent_calls: deque[dict[str, Any]] = deque(maxlen=RECENT_CALLS)
        self.failures: deque[dict[str, Any]] = deque(maxlen=RECENT_FAILURES)
        # actor id (hex) -> latencies (ms) of its calls reported since the sampler last took
        # them; the sampler drains it every few seconds, so it holds a few seconds' calls.
        self.actor_calls: dict[str, list[float]] = {}

    def ingest(self, worker_id: bytes, pid: int | None, payload: dict[str, Any]) -> None:
        self.latest[worker_id] = payload
        self.pids[worker_id] = pid
        for when, actor_id, task_id, name, millis, ok in payload.get("recent", ()):
            self.recent_calls.append({"time": when, "actor_id": actor_id, "task_id": task_id,
                                      "name": name, "ms": millis, "ok": ok, "pid": pid,
                                      "worker_id": worker_id.hex()})
            if actor_id:
                self.actor_calls.setdefault(actor_id, []).append(millis)
        for when, actor_id, task_id, name, error in payload.get("failures", ()):
            self.failures.append({"time": when, "actor_id": actor_id, "task_id": task_id,
                                  "name": name, "error": error, "pid": pid})

    def take_actor_calls(self) -> dict[str, list[float]]:
        """The per-actor call latencies gathered since the previous take (then forgotten)."""
        taken, self.actor_calls = self.actor_calls, {}
        return taken

    def worker_gone(self, worker_id: bytes) -> None:
        payload = self.latest.pop(worker_id, None)
        self.pids.pop(worker_id, None)
        if payload is None:
            return
        for kind, name, count, errors, seconds, buckets in payload.get("counters", ()):
            _add_counter(self.retired, (kind, name), count, errors, seconds, buckets)
        for index, value in enumerate(payload.get("traffic", ())):
            self.retired_traffic[index] += value

    def counters(self) -> dict[tuple[str, str], list[Any]]:
        """(kind, name) -> [count, errors, seconds, buckets], over live and dead workers."""
        merged = {key: [value[0], value[1], value[2], list(value[3])]
                  for key, value in self.retired.items()}
        for payload in self.latest.values():
            for kind, name, count, errors, seconds, buckets in payload.get("counters", ()):
                _add_counter(merged, (kind, name), count, errors, seconds, buckets)
        return merged

    def queues(self) -> dict[str, int]:
        """actor id (hex) -> calls queued or running, over live workers."""
        out: dict[str, int] = {}
        for payload in self.latest.values():
            out.update(payload.get("queues", {}))
        return out

    def running_per_worker(self) -> dict[bytes, int]:
        return {worker_id: payload.get("running", 0)
                for worker_id, payload in self.latest.items()}

    def traffic(self) -> list[tuple[str, list[int]]]:
        rows = [(f"worker-{self.pids.get(worker_id)}", list(payload.get("traffic", [0] * 4)))
                for worker_id, payload in self.latest.items()]
        rows.append(("retired-workers", list(self.retired_traffic)))
        return rows


def _add_counter(into: dict[tuple[str, str], list[Any]], key: tuple[str, str], count: int,
                 errors: int, seconds: float, buckets: list[int]) -> None:
    slot = into.get(key)
    if slot is None:
        into[key] = [count, errors, seconds, list(buckets)]
        return
    slot[0] += count
    slot[1] += errors
    slot[2] += seconds
    slot[3] = [a + b for a, b in zip(slot[3], buckets, strict=True)]


# ---------------------------------------------------------------------- text format
def escape(value: object) -> str:
    """A label value as the Prometheus text format wants it."""
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


class PrometheusText:
    """Builds one exposition: each metric family once, with HELP and TYPE lines."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def family(self, name: str, kind: str, help_text: str,
               samples: Iterable[tuple[dict[str, Any], float]], suffix: str = "") -> None:
        self.lines.append(f"# HELP {name} {help_text}")
        self.lines.append(f"# TYPE {name} {kind}")
        self.samples(name + suffix, samples)

    def samples(self, name: str, samples: Iterable[tuple[dict[str, Any], float]]) -> None:
        for labels, value in samples:
            if labels:
                rendered = ",".join(f'{key}="{escape(val)}"' for key, val in labels.items())
                self.lines.append(f"{name}{{{rendered}}} {_number(value)}")
            else:
                self.lines.append(f"{name} {_number(value)}")

    def histogram(self, name: str, help_text: str,
                  series: Iterable[tuple[dict[str, Any], list[int], float, int]],
                  bounds: Sequence[float] = LATENCY_BUCKETS) -> None:
        """A histogram family; each series has one count per bucket of ``bounds`` (+Inf
        last), not yet cumulated."""
        self.lines.append(f"# HELP {name} {help_text}")
        self.lines.append(f"# TYPE {name} histogram")
        labels_of_bounds = [*(str(b) for b in bounds), "+Inf"]
        for labels, buckets, total_seconds, count in series:
            running = 0
            for bound, in_bucket in zip(labels_of_bounds, buckets, strict=True):
                running += in_bucket
                self.samples(f"{name}_bucket", [({**labels, "le": bound}, running)])
            self.samples(f"{name}_sum", [(labels, total_seconds)])
            self.samples(f"{name}_count", [(labels, count)])

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def _number(value: float) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    return repr(float(value))
