"""What ran where, in Chrome's trace event format (what ``ray.timeline()`` returns).

A node keeps the calls its workers reported lately (``MetricsStore.recent_calls``: end time,
duration, name, worker) and its events. ``trace_events`` turns them into the events that
``chrome://tracing`` and Perfetto read: one complete event (``"ph": "X"``) per task or actor
call, on the row (``tid``) of the worker that ran it, in the process (``pid``) of its node;
instant events (``"ph": "i"``) for node and worker lifecycle; and the metadata events that
name the rows. Times are microseconds since the epoch, as Ray writes them.

Ray's categories are kept: ``cat`` is ``task::<name>`` (``task::Counter.incr`` for an actor
call, ``task::f`` for a task), ``tid`` is ``worker:<worker id>``, ``args`` has ``name`` and
``task_id``. Ray names the process by the node's IP; here it is the node's address, and the
node id is in ``args``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

# Instant marks on the rows of workers and nodes: the events of these kinds.
LIFECYCLE_KINDS = ("node_started", "worker_started", "worker_died", "driver_lost")


def trace_events(calls: Iterable[dict[str, Any]], events: Iterable[dict[str, Any]], *,
                 node_label: str, node_id: str, workers: dict[str, str],
                 since: float = 0.0) -> list[dict[str, Any]]:
    """The trace events of one node: its calls ending after ``since``, its lifecycle marks.

    ``workers`` maps a worker id (hex) to the label of its row ("worker 4312 (actor host)").
    """
    out: list[dict[str, Any]] = []
    named: set[str] = set()
    for call in calls:
        if call["time"] < since:
            continue
        worker = call.get("worker_id") or ""
        tid = f"worker:{worker}"
        named.add(worker)
        seconds = call["ms"] / 1000.0
        args = {"name": call["name"], "task_id": call["task_id"], "ok": call["ok"],
                "worker_pid": call.get("pid"), "node_id": node_id}
        if call["actor_id"]:
            args["actor_id"] = call["actor_id"]
        out.append({"cat": f"task::{call['name']}", "name": call["name"], "pid": node_label,
                    "tid": tid, "ts": round((call["time"] - seconds) * 1e6, 1),
                    "dur": round(seconds * 1e6, 1), "ph": "X",
                    "cname": "generic_work" if call["ok"] else "terrible", "args": args})
    for event in events:
        if event["kind"] not in LIFECYCLE_KINDS or event["time"] < since:
            continue
        worker = event.get("worker_id")
        mark: dict[str, Any] = {"cat": event["kind"], "name": event["kind"], "pid": node_label,
                                "ts": round(event["time"] * 1e6, 1), "ph": "i",
                                "args": {"message": event["message"], "node_id": node_id}}
        if worker:
            mark["tid"] = f"worker:{worker}"
            mark["s"] = "t"
            named.add(worker)
        else:
            mark["tid"] = "node"
            mark["s"] = "p"
        out.append(mark)
    out.sort(key=lambda e: e["ts"])
    meta: list[dict[str, Any]] = [{"name": "process_name", "ph": "M", "pid": node_label,
                                   "args": {"name": f"node {node_label}"}}]
    for worker in sorted(named):
        meta.append({"name": "thread_name", "ph": "M", "pid": node_label,
                     "tid": f"worker:{worker}",
                     "args": {"name": workers.get(worker, f"worker {worker[:8]}")}})
    return meta + out
