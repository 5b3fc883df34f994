"""Every few seconds, what the node's figures are now, written into its time series.

The node's counters are cumulative (calls finished, latency histogram buckets, CPU seconds):
a rate or a percentile over the last step is the difference between two samples. The sampler
keeps the previous sample of each and writes rates, percentiles and gauges into the
``SeriesStore`` (``_observe/timeseries.py``), for the node, each actor class and remote
function, each busy actor and each application metric (``util.metrics``).

It reads the node through ``NodeObserver`` only and runs on the node's loop as a chain of
``call_later`` (nothing pending when the loop stops). One sample walks the actor table once
(a few tens of milliseconds with 100,000 actors, every ``STEP`` seconds).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from typing import TYPE_CHECKING, Any

from actorium._node.actor_manager import ActorStatus
from actorium._observe import system_usage
from actorium._observe.timeseries import STEP, SeriesStore, percentile
from actorium._observe.worker_stats import LATENCY_BUCKETS

if TYPE_CHECKING:
    from actorium._node.observer import NodeObserver

_MS_BOUNDS = tuple(bound * 1000 for bound in LATENCY_BUCKETS)


def _rates(count: int, errors: int, buckets: list[int], seconds: float) -> dict[str, float | None]:
    """calls/s, errors/s and latency quantiles (ms) of one step's counter differences."""
    return {"calls_per_s": round(count / seconds, 3), "errors_per_s": round(errors / seconds, 3),
            "p50_ms": percentile(buckets, _MS_BOUNDS, 0.5),
            "p99_ms": percentile(buckets, _MS_BOUNDS, 0.99)}


def _hosts_usage(workers: Any, per_pid: dict[int, tuple[float | None, int | None]],
                 held: dict[int, int]) -> dict[str, float | None]:
    """CPU, memory and object bytes of the workers hosting a class's actors, summed.

    A shared host worker running actors of several classes counts in full for each: the
    figure says what the processes that run this class cost, not a share of them.
    """
    pids = {w.pid for w in workers if w.pid}
    if not pids:
        return {}
    shares = [share for pid in pids if pid in per_pid and (share := per_pid[pid][0]) is not None]
    sizes = [size for pid in pids if pid in per_pid and (size := per_pid[pid][1]) is not None]
    return {"cpu_percent": round(sum(shares), 2) if shares else None,
            "rss_bytes": sum(sizes) if sizes else None,
            "object_bytes": sum(held.get(pid, 0) for pid in pids),
            "workers": len(pids)}


class NodeSampler:
    """Samples one node into its ``SeriesStore`` every ``STEP`` seconds."""

    def __init__(self, observer: NodeObserver) -> None:
        self.observer = observer
        self.series = SeriesStore()
        self._counters: dict[tuple[str, str], list[Any]] = {}
        self._cpu: dict[int, float] = {}
        self._app: dict[tuple[str, str], Any] = {}
        self._last = 0.0
        self._timer: asyncio.TimerHandle | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._last = time.time()
        self._counters = self.observer.metrics.counters()
        self._timer = loop.call_later(STEP, self._run, loop)

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _run(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            self.sample()
        finally:
            # Aligned on the tick grid, so nodes sample at the same instants.
            delay = STEP - time.time() % STEP + 0.05
            self._timer = loop.call_later(delay, self._run, loop)

    # ------------------------------------------------------------------ one sample
    def sample(self, now: float | None = None) -> None:
        """Write the figures of this instant (and of the step that ends now)."""
        now = time.time() if now is None else now
        seconds = max(now - self._last, 1e-3)
        self._last = now
        observer = self.observer
        node = observer.node
        queues = observer.metrics.queues()
        per_class_queue: dict[str, int] = {}
        per_class_alive: dict[str, int] = {}
        per_class_workers: dict[str, set[Any]] = {}   # the workers hosting a class's actors
        actor_pids: dict[str, int | None] = {}
        alive = 0
        for info in node.actors.actors.values():
            if info.status is not ActorStatus.ALIVE:   # not .value: a descriptor call each
                continue
            alive += 1
            name = info.class_name
            per_class_alive[name] = per_class_alive.get(name, 0) + 1
            if info.worker is not None:
                hosts = per_class_workers.get(name)
                if hosts is None:
                    hosts = per_class_workers[name] = set()
                hosts.add(info.worker)
            hexid = info.actor_id.hex() if queues else ""
            if hexid and hexid in queues:
                per_class_queue[name] = per_class_queue.get(name, 0) + queues[hexid]
        for hexid in queues:
            found = node.actors.actors.get(bytes.fromhex(hexid))
            actor_pids[hexid] = found.worker.pid if found and found.worker else None
        counters = observer.metrics.counters()
        class_figures: dict[str, dict[str, float | None]] = {}
        totals: dict[str, list[Any]] = {"actor": [0, 0, [0] * (len(_MS_BOUNDS) + 1)],
                                        "task": [0, 0, [0] * (len(_MS_BOUNDS) + 1)]}
        for key, value in counters.items():
            before = self._counters.get(key)
            count, errors = value[0], value[1]
            buckets = list(value[3])
            if before is not None:
                count -= before[0]
                errors -= before[1]
                buckets = [a - b for a, b in zip(buckets, before[3], strict=True)]
            kind, name = key
            scope = "class" if kind == "actor" else "function"
            figures = _rates(count, errors, buckets, seconds)
            if scope == "class":
                figures["mailbox"] = per_class_queue.get(name, 0)
                figures["actors_alive"] = per_class_alive.get(name, 0)
                class_figures[name] = figures
            else:
                self.series.put(now, scope, name, figures)
            total = totals[kind]
            total[0] += count
            total[1] += errors
            total[2] = [a + b for a, b in zip(total[2], buckets, strict=True)]
        for name, count in per_class_alive.items():
            if ("actor", name) not in counters:   # a class whose actors were never called
                class_figures[name] = {"actors_alive": count,
                                       "mailbox": per_class_queue.get(name, 0)}
        self._counters = counters
        per_pid = self._processes(seconds)
        held = self._object_bytes()
        for name, figures in class_figures.items():
            figures.update(_hosts_usage(per_class_workers.get(name, ()), per_pid, held))
            self.series.put(now, "class", name, figures)
        self._sample_actors(now, seconds, queues, actor_pids, per_pid, held)
        all_buckets = [a + b for a, b in zip(totals["actor"][2], totals["task"][2], strict=True)]
        shares = [share for share, _ in per_pid.values() if share is not None]
        cpu = round(sum(shares), 2) if shares else None
        rss = sum(size for _, size in per_pid.values() if size is not None)
        store = observer._store_figures()
        objects = observer.object_totals()
        tasks = node.tasks
        self.series.put(now, "node", node.node_id.hex(), {
            "calls_per_s": round(totals["actor"][0] / seconds, 3),
            "tasks_per_s": round(totals["task"][0] / seconds, 3),
            "errors_per_s": round((totals["actor"][1] + totals["task"][1]) / seconds, 3),
            "p50_ms": percentile(all_buckets, _MS_BOUNDS, 0.5),
            "p99_ms": percentile(all_buckets, _MS_BOUNDS, 0.99),
            "tasks_queued": len(tasks.queue), "tasks_running": len(tasks.running),
            "mailbox": sum(queues.values()), "mailbox_max": max(queues.values(), default=0),
            "actors_alive": alive, "workers": len(node.workers),
            "cpu_percent": cpu, "rss_bytes": rss,
            "machine_cpu_percent": system_usage.cpu_percent(),
            "store_used_bytes": store.get("used"), "store_spilled_bytes": store.get("spilled"),
            "store_capacity_bytes": store.get("capacity"), "object_bytes": objects["bytes"],
            "objects": objects["count"]})
        self._sample_app(now, seconds)

    def _sample_actors(self, now: float, seconds: float, queues: dict[str, int],
                       pids: dict[str, int | None],
                       per_pid: dict[int, tuple[float | None, int | None]],
                       held: dict[int, int]) -> None:
        """Series of the actors that ran calls or had calls waiting during this step."""
        calls = self.observer.metrics.take_actor_calls()
        actors = self.observer.node.actors.actors
        for hexid in {*calls, *queues}:
            latencies = sorted(calls.get(hexid, ()))
            if hexid not in pids:
                found = actors.get(bytes.fromhex(hexid))
                pids[hexid] = found.worker.pid if found and found.worker else None
            cpu, rss = per_pid.get(pids[hexid] or -1, (None, None))
            self.series.put(now, "actor", hexid, {
                "calls_per_s": round(len(latencies) / seconds, 3),
                "p50_ms": statistics.median(latencies) if latencies else None,
                "p99_ms": latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]
                if latencies else None,
                "mailbox": queues.get(hexid, 0),
                "cpu_percent": cpu, "rss_bytes": rss,
                "object_bytes": held.get(pids[hexid] or -1)})

    def _object_bytes(self) -> dict[int, int]:
        """pid -> bytes of the objects that worker holds (its last report)."""
        out: dict[int, int] = {}
        for payload in self.observer.metrics.latest.values():
            summary = payload.get("objects")
            if summary:
                out[summary["pid"]] = summary["bytes"]
        return out

    def _processes(self, seconds: float) -> dict[int, tuple[float | None, int | None]]:
        """pid -> (CPU over the step in % of one core, resident bytes), for the node and
        each of its workers."""
        pids = [os.getpid(), *(w.pid for w in self.observer.node.workers.values() if w.pid)]
        out: dict[int, tuple[float | None, int | None]] = {}
        used_now: dict[int, float] = {}
        for pid in pids:
            used = system_usage.cpu_seconds(pid)
            before = self._cpu.get(pid)
            share = None
            if used is not None:
                used_now[pid] = used
                if before is not None:
                    share = round(100.0 * max(used - before, 0.0) / seconds, 2)
            out[pid] = (share, system_usage.rss(pid))
        self._cpu = used_now
        return out

    def _sample_app(self, now: float, seconds: float) -> None:
        """One series per application metric and tag set (util.metrics)."""
        for row in self.observer.app_metrics.rows():
            tags = ",".join(f"{k}={v}" for k, v in row["tags"].items())
            key = f"{row['name']}{{{tags}}}" if tags else row["name"]
            slot = (row["name"], tags)
            before = self._app.get(slot)
            if row["kind"] == "gauge":
                self.series.put(now, "app", key, {"value": row["value"]})
                continue
            if row["kind"] == "counter":
                self._app[slot] = row["value"]
                rate = None if before is None else (row["value"] - before) / seconds
                self.series.put(now, "app", key, {"value": row["value"], "rate": rate})
                continue
            buckets = list(row["buckets"])
            self._app[slot] = (row["count"], buckets)
            figures: dict[str, float | None] = {"value": row["count"]}
            if before is not None:
                step = [a - b for a, b in zip(buckets, before[1], strict=True)]
                figures["rate"] = (row["count"] - before[0]) / seconds
                figures["p50"] = percentile(step, row["boundaries"], 0.5)
                figures["p99"] = percentile(step, row["boundaries"], 0.99)
            self.series.put(now, "app", key, figures)
