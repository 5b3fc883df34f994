"""Worker side of metrics: count what this worker ran, and report it to the node each second.

``record`` is called once per task or actor call (see ``execution.run_and_pack``), on the
thread that ran it: it bumps a counter and one histogram bucket under an uncontended lock,
and remembers the call in a short ring of recent calls. Counters are cumulative, so a lost
report costs nothing; the ring is drained into each report.
"""

from __future__ import annotations

import asyncio
import bisect
import os
import threading
from collections import deque
from time import time
from typing import TYPE_CHECKING, Any

from actorium._core.context import current_execution
from actorium._observe.app_metrics import process_metrics
from actorium._observe.object_summary import summarize
from actorium._transport.protocol import Kind

if TYPE_CHECKING:
    from actorium._core.runtime import Runtime
    from actorium._core.worker import WorkerExecutor

# Upper bounds (seconds) of the call-latency histogram buckets; +Inf is implied.
LATENCY_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                   0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
REPORT_INTERVAL = 1.0
_HEARTBEAT_TICKS = 5
_RECENT = 200


class CallCounter:
    """Count, failures, total seconds and latency buckets of one function or actor method."""

    __slots__ = ("count", "errors", "seconds", "buckets")

    def __init__(self) -> None:
        self.count = 0
        self.errors = 0
        self.seconds = 0.0
        self.buckets = [0] * (len(LATENCY_BUCKETS) + 1)

    def as_list(self) -> list[Any]:
        return [self.count, self.errors, self.seconds, self.buckets]


class WorkerStats:
    """What one worker process ran, keyed by ``kind`` ("actor"/"task") and name."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counters: dict[tuple[str, str], CallCounter] = {}
        self.recent: deque[tuple[Any, ...]] = deque(maxlen=_RECENT)
        self.failures: deque[list[Any]] = deque(maxlen=_RECENT)
        self.changed = False
        self._had_queues = False
        self._had_leased = False

    def record(self, name: str, seconds: float, error: BaseException | None) -> None:
        """Note one finished task or call (any thread). Kept to about a microsecond."""
        execution = current_execution.get()
        actor_id = execution.actor_id if execution is not None else None
        key = ("actor", name.partition(".")[0]) if actor_id is not None else ("task", name)
        slot = bisect.bisect_left(LATENCY_BUCKETS, seconds)
        with self._lock:
            counter = self.counters.get(key)
            if counter is None:
                counter = self.counters[key] = CallCounter()
            counter.count += 1
            counter.seconds += seconds
            counter.buckets[slot] += 1
            if error is not None:
                counter.errors += 1
            self.changed = True
            if execution is not None and not execution.events:
                return  # enable_task_events=False: counted, not in the timeline or state API
            # Raw values here; ids are turned into hex when the report is built.
            self.recent.append((time(), actor_id, execution, name, seconds, error is None))
            if error is not None:
                self.failures.append([time(), actor_id.hex() if actor_id else "",
                                      execution.task_id.hex() if execution else "", name,
                                      f"{type(error).__name__}: {error}"[:500]])

    def report(self, executor: WorkerExecutor, force: bool = False) -> dict[str, Any] | None:
        """The payload of one WORKER_STATS message, or None if nothing changed."""
        # Walking every hosted actor costs time with 100k idle twins: only while busy.
        leased = executor.leased_rows()   # tasks the node does not see (they came on leases)
        if not self.changed and not self._had_queues and not force and not leased \
                and not self._had_leased:
            return None
        queues = executor.queue_lengths()
        self._had_queues = bool(queues)
        self._had_leased = bool(leased)
        with self._lock:
            self.changed = False
            recent = [[when, actor_id.hex() if actor_id else "",
                       execution.task_id.hex() if execution else "", name,
                       round(seconds * 1000, 3), ok]
                      for when, actor_id, execution, name, seconds, ok in self.recent]
            failures = list(self.failures)
            self.recent.clear()
            self.failures.clear()
            counters = [[kind, name, *counter.as_list()]
                        for (kind, name), counter in self.counters.items()]
        return {"counters": counters, "recent": recent, "failures": failures,
                "queues": queues, "running": len(executor.running_tasks), "leased": leased}


stats = WorkerStats()


async def report_forever(executor: WorkerExecutor) -> None:
    """Send this worker's statistics to its node every ``REPORT_INTERVAL`` seconds."""
    runtime = executor.runtime
    pid = os.getpid()
    tick = 0
    while True:
        await asyncio.sleep(REPORT_INTERVAL)
        tick += 1
        # Objects change without calls finishing: report at least every few seconds.
        app_metrics = process_metrics().snapshot()
        payload = stats.report(executor, force=tick % _HEARTBEAT_TICKS == 0 or
                               app_metrics is not None)
        if payload is not None:
            if app_metrics is not None:
                payload["app_metrics"] = app_metrics
            payload["objects"] = summarize(runtime.objects, "worker", pid)
            inbox, outbox = runtime.inbox, runtime.outbox
            payload["traffic"] = [inbox.received if inbox else 0,
                                  inbox.received_bytes if inbox else 0,
                                  outbox.sent, outbox.sent_bytes]
            runtime.send(runtime.node_address, [Kind.WORKER_STATS, runtime.worker_id, payload])


def report_driver_objects(runtime: Runtime) -> None:
    """A driver's part: what its object table holds, every few seconds (driver loop).

    A chain of ``call_later`` rather than a task, so that nothing is left pending when the
    driver's loop stops.
    """
    if runtime.closed or runtime.loop is None:
        return
    # Also the driver's heartbeat: a node that stops hearing it reaps its actors.
    payload: dict[str, Any] = {"objects": summarize(runtime.objects, "driver", os.getpid()),
               "address": runtime.address}
    app_metrics = process_metrics().snapshot()
    if app_metrics is not None:
        payload["app_metrics"] = app_metrics
    runtime.send(runtime.node_address, [Kind.WORKER_STATS, runtime.worker_id, payload])
    runtime.loop.call_later(REPORT_INTERVAL * 2, report_driver_objects, runtime)
