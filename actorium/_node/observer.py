"""Everything a node knows about itself for people: logs, events, metrics, state, dashboard.

The node owns one ``NodeObserver``. The node calls it at the moments that matter (a worker
started or exited, an actor changed state, a worker's statistics arrived); the observer keeps
bounded histories and answers the state API, ``/metrics`` and the dashboard from them. It only
reads the node's tables, never changes them: actions (kill, restart) go through the node's
ordinary request verbs.
"""

from __future__ import annotations

import asyncio
import importlib
import itertools
import operator
import os
import socket
import time
from typing import TYPE_CHECKING, Any

from actorium._node.actor_manager import ActorStatus
from actorium._node.sampler import NodeSampler
from actorium._observe import system_usage
from actorium._observe.app_metrics import NodeAppMetrics, render_rows
from actorium._observe.events import EventLog
from actorium._observe.log_collector import LogCollector, LogLine
from actorium._observe.metrics import MetricsStore, PrometheusText
from actorium._observe.trace import trace_events
from actorium._store.summary import summarize as summarize_store
from actorium._transport.protocol import Kind

if TYPE_CHECKING:
    from actorium._node.node import Node
    from actorium._node.workers import WorkerInfo

STATE_KINDS = ("nodes", "actors", "tasks", "workers", "objects", "events", "logs",
               "app_metrics", "series", "series_catalog", "actor_groups", "actor_count",
               "actor_page", "event_groups", "timeline")
# Kinds whose rows are built for the limit asked (a page of 100,000 actors describes 50).
_LIMITED_KINDS = ("actor_page",)
_WORKER_LABELS = 10_000
_PAGE_ORDER = operator.attrgetter("class_name", "actor_id")


class NodeObserver:
    """Logs, events, metrics and the state snapshots of one node."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.started = time.time()
        self.logs = LogCollector(os.path.join(node.session_dir, "logs"))
        self.events = EventLog()
        self.metrics = MetricsStore()
        self.app_metrics = NodeAppMetrics()
        self.sampler = NodeSampler(self)
        self.drivers_objects: dict[bytes, dict[str, Any]] = {}
        self.log_subscribers: set[str] = set()
        self.logs.listeners.append(self._forward_logs)
        self.dashboard: Any = None      # a DashboardServer once started
        self.dashboard_socket: socket.socket | None = None
        self._dashboard_module: asyncio.Future[Any] | None = None
        # worker id (hex) -> its row's label in the timeline, kept after the worker exits
        self.worker_labels: dict[str, str] = {}

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        self.logs.start()
        self.sampler.start(self.node.loop)
        self.events.record("node_started", f"node {self.node.node_id.hex()[:8]} started",
                           node_id=self.node.node_id.hex())

    def preload_dashboard(self) -> None:
        """Start importing the dashboard (aiohttp: ~0.1 s of CPU) on another thread, so that
        it overlaps the rest of the node's start."""
        self._dashboard_module = asyncio.get_running_loop().run_in_executor(
            None, importlib.import_module, "actorium._node.dashboard")

    async def start_dashboard(self, token: str) -> str:
        """Serve the dashboard on the socket bound at start; returns "" once it serves, or
        why it cannot (then its socket is closed: no URL may point at a port that never
        answers). Called before the node reports ready, so the URL given out is live."""
        listener = self.dashboard_socket
        if listener is None:
            return ""
        try:
            if self._dashboard_module is None:
                self.preload_dashboard()
            assert self._dashboard_module is not None
            module = await self._dashboard_module
            dashboard = module.DashboardServer(self, token)
            await dashboard.start(listener)
        except Exception as exc:  # noqa: BLE001 - the runtime works without its dashboard
            self.dashboard_socket = None
            listener.close()
            if isinstance(exc, ImportError):
                return f"it needs aiohttp, which cannot be imported here ({exc})"
            return f"{type(exc).__name__}: {exc}"
        self.dashboard = dashboard
        return ""

    async def close(self) -> None:
        self.sampler.stop()
        if self.dashboard is not None:
            await self.dashboard.stop()
        elif self.dashboard_socket is not None:
            self.dashboard_socket.close()
        self.logs.close()

    # ------------------------------------------------------------------ node callbacks
    def worker_started(self, worker: WorkerInfo) -> None:
        process = worker.process
        if process is None:
            return
        self.logs.attach(process.pid, process.stdout, process.stderr)
        worker_id = worker.worker_id.hex()
        self.worker_labels[worker_id] = worker.label
        if len(self.worker_labels) > _WORKER_LABELS:
            del self.worker_labels[next(iter(self.worker_labels))]
        self.events.record("worker_started", f"{worker.label} started", pid=worker.pid,
                           worker_id=worker_id)

    def worker_exited(self, worker: WorkerInfo, reason: str) -> None:
        self.metrics.worker_gone(worker.worker_id)
        self.app_metrics.process_gone(worker.worker_id)
        if worker.exit_description != "retired" and not self.node.stopping:
            self.events.record("worker_died", f"{worker.label} {reason}",
                               pid=worker.pid, worker_id=worker.worker_id.hex())

    def actor_event(self, kind: str, actor: Any, message: str) -> None:
        self.events.record(kind, message, actor_id=actor.actor_id.hex(),
                           class_name=actor.class_name)

    def on_worker_stats(self, header: list[Any], _buffers: list[Any]) -> None:
        _, worker_id, payload = header[:3]
        if isinstance(payload, dict) and payload.get("app_metrics") is not None:
            self.app_metrics.ingest(worker_id, payload["app_metrics"])
        worker = self.node.workers.get(worker_id)
        if worker is None:
            objects = payload.get("objects") if isinstance(payload, dict) else None
            if objects is not None:
                self.drivers_objects[worker_id] = objects
            return
        self.metrics.ingest(worker_id, worker.pid, payload)

    def subscribe_logs(self, address: str) -> None:
        self.log_subscribers.add(address)

    def driver_left(self, address: str, worker_id: bytes | None = None) -> None:
        self.log_subscribers.discard(address)
        if worker_id is not None:
            self.drivers_objects.pop(worker_id, None)
            self.app_metrics.process_gone(worker_id)

    def _forward_logs(self, batch: list[LogLine]) -> None:
        if not self.log_subscribers:
            return
        lines = [[line.pid, line.origin, line.stream, line.text] for line in batch]
        message = [Kind.LOG_LINES, self.node.node_id.hex(), lines]
        for address in list(self.log_subscribers):
            self.node.send(address, message)

    # ------------------------------------------------------------------ state
    def state(self, kind: str, *, limit: int = 1000, **query: Any) -> list[dict[str, Any]]:
        """Rows of one state table: ``nodes``, ``actors``, ``tasks``, ``workers``...

        Raises ``ValueError`` naming the known kinds for anything else.
        """
        if kind not in STATE_KINDS:
            raise ValueError(f"unknown state kind {kind!r}; expected one of "
                             f"{', '.join(STATE_KINDS)}")
        if kind in _LIMITED_KINDS:
            query = {**query, "limit": limit}
        rows: list[dict[str, Any]] = getattr(self, f"_rows_{kind}")(**query)
        return rows[-limit:] if kind in ("events", "logs") else rows[:limit]

    # --- the whole cluster (the head gathers every node's rows); this node alone otherwise
    async def cluster_state(self, kind: str, *, limit: int = 1000,
                            **query: Any) -> list[dict[str, Any]]:
        """Like ``state``, over every node of the cluster (ValueError for a bad query)."""
        rows = self.state(kind, limit=limit, **query)   # checks the kind and the query
        cluster = self.node.cluster
        if cluster is None:
            return rows
        gathered: list[dict[str, Any]] = await cluster.request("cluster_state", kind, query,
                                                               limit)
        return gathered

    async def cluster_summary(self) -> dict[str, Any]:
        cluster = self.node.cluster
        if cluster is None:
            return self.summary()
        summary: dict[str, Any] = await cluster.request("cluster_summary")
        return summary

    async def cluster_actor_detail(self, actor_id: str) -> dict[str, Any]:
        """An actor's detail from whichever node hosts it (LookupError if none does)."""
        try:
            return self.actor_detail(actor_id)
        except LookupError:
            if self.node.cluster is None:
                raise
        detail: dict[str, Any] = await self.node.cluster.request("cluster_actor_detail",
                                                                 actor_id)
        return detail

    def _rows_nodes(self) -> list[dict[str, Any]]:
        node = self.node
        resources = node.resources
        return [{
            "node_id": node.node_id.hex(),
            "state": "ALIVE",
            "pid": os.getpid(),   # the node daemon (actorium.testing.kill_node kills it)
            "hostname": os.uname().nodename,
            "address": node.address if node.cluster is not None else "127.0.0.1",
            "is_head": node.cluster is None or node.head is not None,
            "resources_total": dict(resources.total),
            "resources_available": {k: v for k, v in resources.available.items()},
            "cpu_percent": system_usage.cpu_percent(),
            "memory": system_usage.memory(),
            "workers": len(node.workers),
            "uptime_s": round(time.time() - self.started, 1),
            "dashboard_url": self.dashboard.url if self.dashboard is not None else "",
        }]

    def _rows_actors(self, state: str | None = None, search: str | None = None,
                     actor_id: str | None = None) -> list[dict[str, Any]]:
        queues = self.metrics.queues()
        rows = []
        needle = (search or "").lower()
        infos: Any = self.node.actors.actors.values()
        if actor_id is not None:   # one actor: a lookup, not a walk over a fleet
            try:
                found = self.node.actors.actors.get(bytes.fromhex(actor_id))
            except ValueError:
                found = None
            infos = [found] if found is not None else []
        for info in infos:
            row = info.describe()
            if state is not None and row["state"] != state:
                continue
            if needle and needle not in " ".join(
                    str(row[k]) for k in ("actor_id", "class_name", "name")).lower():
                continue
            row["node_id"] = self.node.node_id.hex()
            row["pending_calls"] = queues.get(row["actor_id"], 0)
            rows.append(row)
        return rows

    # --- fleet scale: counts over every actor, pages of a few, never the whole table
    # Counts and order come from the actor manager's ActorIndex (kept as actors change);
    # only a search walks actors, and then in page order, stopping at the page's end.
    def _matching(self, state: str | None, search: str | None, class_name: str | None,
                  node_id: str | None, offset: int = 0) -> Any:
        """The ActorInfos that pass the filters, by class then id, the first ``offset`` of
        them left out (a generator: nothing is described). Without a search they come from
        the index in order; a search walks every actor, then orders what it found."""
        if node_id and node_id != self.node.node_id.hex():
            return
        actors = self.node.actors.actors
        wanted = ActorStatus._value2member_map_.get(state) if state else None
        if state and wanted is None:
            return                        # a state no actor can be in: none match
        if not search:
            in_state = (lambda actor_id: actors[actor_id].status is wanted) if state else None
            for actor_id in self.node.actors.index.ordered(
                    class_name=class_name, state=state, offset=offset, in_state=in_state):
                yield actors[actor_id]
            return
        yield from sorted(self._searched(wanted, search, class_name),
                          key=_PAGE_ORDER)[offset:]

    def _searched(self, wanted: Any, search: str, class_name: str | None) -> Any:
        needle = search.lower()
        for info in self.node.actors.actors.values():
            if wanted is not None and info.status is not wanted:
                continue
            if class_name and info.class_name != class_name:
                continue
            if needle not in info.class_name.lower() and needle not in (info.name or "").lower() \
                    and needle not in info.actor_id.hex():
                continue
            yield info

    def _rows_actor_groups(self) -> list[dict[str, Any]]:
        """One row per actor class on this node: how many actors it has in each state."""
        node_id = self.node.node_id.hex()
        return [{"class_name": name, "node_id": node_id, "states": states,
                 "total": sum(states.values())}
                for name, states in self.node.actors.index.groups().items()]

    def _rows_actor_count(self, state: str | None = None, search: str | None = None,
                          class_name: str | None = None,
                          node_id: str | None = None) -> list[dict[str, Any]]:
        """How many actors pass the filters (the true count a page shows)."""
        own = self.node.node_id.hex()
        if node_id and node_id != own:
            total = 0
        elif search:
            wanted = ActorStatus._value2member_map_.get(state) if state else None
            total = 0 if state and wanted is None else sum(
                1 for _ in self._searched(wanted, search, class_name))
        else:
            total = self.node.actors.index.count(class_name=class_name, state=state)
        return [{"node_id": own, "total": total}]

    def _rows_actor_page(self, state: str | None = None, search: str | None = None,
                         class_name: str | None = None, node_id: str | None = None,
                         offset: int = 0, limit: int = 100) -> list[dict[str, Any]]:
        """The first ``limit`` actors passing the filters, by class then id (so that pages
        of several nodes merge into one order), the first ``offset`` of them left out: a
        lone node is asked for the page itself, the nodes of a cluster each for everything
        up to the page's end (the head merges them)."""
        matching = self._matching(state, search, class_name, node_id, offset)
        chosen = list(itertools.islice(matching, max(0, limit - offset)))
        queues = self.metrics.queues()
        own = self.node.node_id.hex()
        rows = []
        for info in chosen:
            row = info.describe()
            row["node_id"] = own
            row["pending_calls"] = queues.get(row["actor_id"], 0)
            rows.append(row)
        return rows

    def _rows_event_groups(self, after: int = 0) -> list[dict[str, Any]]:
        own = self.node.node_id.hex()
        return [{**group, "node_id": own} for group in self.events.groups.recent(
            after=after, limit=2000)]

    def _rows_timeline(self, since: float = 0.0) -> list[dict[str, Any]]:
        """This node's calls and lifecycle marks in Chrome's trace format (``trace.py``)."""
        node = self.node
        label = node.address if node.cluster is not None else "127.0.0.1"
        for worker in node.workers.values():
            self.worker_labels.setdefault(worker.worker_id.hex(), worker.label)
        return trace_events(self.metrics.recent_calls, self.events.ring, node_label=label,
                            node_id=node.node_id.hex(), workers=self.worker_labels,
                            since=float(since))

    def actor_detail(self, actor_id: str) -> dict[str, Any]:
        rows = self._rows_actors(actor_id=actor_id)
        if not rows:
            raise LookupError(f"no actor {actor_id} on this node")
        calls = [call for call in self.metrics.recent_calls if call["actor_id"] == actor_id]
        return {**rows[0], "recent_calls": calls[-100:],
                "logs": self.logs.recent(actor_id=actor_id, limit=200),
                "events": self.events.recent(actor_id=actor_id, limit=100)}

    def _rows_tasks(self, state: str | None = None) -> list[dict[str, Any]]:
        scheduler = self.node.tasks
        rows: list[dict[str, Any]] = []
        for task in scheduler.queue:
            if task.events:
                rows.append({"task_id": task.task_id.hex(), "name": task.name,
                             "state": "QUEUED", "pid": None, "error": ""})
        for task in scheduler.running.values():
            if not task.events:
                continue
            rows.append({"task_id": task.task_id.hex(), "name": task.name, "state": "RUNNING",
                         "pid": task.worker.pid if task.worker else None, "error": ""})
        for worker_id, payload in self.metrics.latest.items():
            # Tasks that came on a lease: their workers report them (the node never saw them).
            for task_id, name, task_state in payload.get("leased", ()):
                rows.append({"task_id": task_id, "name": name, "state": task_state,
                             "pid": self.metrics.pids.get(worker_id), "error": ""})
        for failure in self.metrics.failures:
            if failure["actor_id"]:
                continue
            rows.append({"task_id": failure["task_id"], "name": failure["name"],
                         "state": "FAILED", "pid": failure["pid"], "error": failure["error"],
                         "time": failure["time"]})
        if state is not None:
            rows = [row for row in rows if row["state"] == state]
        return rows

    def _rows_workers(self) -> list[dict[str, Any]]:
        running = self.metrics.running_per_worker()
        node_id = self.node.node_id.hex()
        return [{"worker_id": w.worker_id.hex(), "node_id": node_id, "pid": w.pid,
                 "kind": w.kind.value,
                 "address": w.address or "",
                 "state": w.state.value, "actors": len(w.actors),
                 "running": running.get(w.worker_id, 0),
                 "rss_bytes": system_usage.rss(w.pid)}
                for w in self.node.workers.values()]

    def _rows_objects(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        sources = [payload.get("objects") for payload in self.metrics.latest.values()]
        sources.extend(self.drivers_objects.values())
        for summary in sources:
            if not summary:
                continue
            for (object_id, size, state, owner, local_refs, borrowers, pins,
                 where) in summary["items"]:
                rows.append({"object_id": object_id, "size_bytes": size, "state": state,
                             "owner": owner or f"{summary['role']} pid={summary['pid']}",
                             "holder_pid": summary["pid"], "holder_role": summary["role"],
                             "local_refs": local_refs, "borrowers": borrowers, "pins": pins,
                             "location": where})
        return rows

    def _store_figures(self) -> dict[str, int]:
        return _read_store(self.node.session_dir)

    def object_totals(self) -> dict[str, int]:
        count = size = 0
        sources = [payload.get("objects") for payload in self.metrics.latest.values()]
        sources.extend(self.drivers_objects.values())
        for summary in sources:
            if summary:
                count += summary["count"]
                size += summary["bytes"]
        return {"count": count, "bytes": size}

    def _rows_events(self, after: int = 0, event_kind: str | None = None,
                     class_name: str | None = None, since: float | None = None,
                     until: float | None = None) -> list[dict[str, Any]]:
        return self.events.recent(after=after, kind=event_kind, class_name=class_name,
                                  since=None if since is None else float(since),
                                  until=None if until is None else float(until), limit=2000)

    def _rows_logs(self, pid: int | None = None, actor_id: str | None = None,
                   after: int = 0) -> list[dict[str, Any]]:
        return self.logs.recent(pid=pid, actor_id=actor_id, after=after, limit=2000)

    def _rows_app_metrics(self, name: str | None = None) -> list[dict[str, Any]]:
        node_id = self.node.node_id.hex()
        return [{**row, "node_id": node_id} for row in self.app_metrics.rows()
                if not name or row["name"] == name]

    def _rows_series(self, scope: str = "node", key: str | None = None,
                     metric: str | None = None, since: float = 0.0) -> list[dict[str, Any]]:
        """Time series rows ``{scope, key, metric, points}`` (``metric``: comma-separated)."""
        metrics = [m for m in metric.split(",") if m] if metric else None
        if scope == "node" and key == "":
            key = None
        node_id = self.node.node_id.hex()
        return [{**row, "node_id": node_id} for row in self.sampler.series.query(
            scope, key, metrics, since=float(since), now=time.time())]

    def _rows_series_catalog(self, scope: str | None = None) -> list[dict[str, Any]]:
        """Which series exist: one row per scope and key, with its metrics."""
        node_id = self.node.node_id.hex()
        return [{"scope": name, "key": key, "metrics": metrics, "node_id": node_id}
                for name, keys in self.sampler.series.catalog().items()
                if scope is None or scope == name for key, metrics in keys.items()]

    def summary(self) -> dict[str, Any]:
        """The overview page in one dict."""
        by_state = self.node.actors.index.by_state()
        scheduler = self.node.tasks
        counters = self.metrics.counters()
        leased = {"QUEUED": 0, "RUNNING": 0}   # tasks on leases, as their workers report
        for payload in self.metrics.latest.values():
            for _task_id, _name, task_state in payload.get("leased", ()):
                leased[task_state] += 1
        return {
            "nodes": self._rows_nodes(),
            "actors_by_state": by_state,
            "tasks": {"queued": sum(not t.lease for t in scheduler.queue) + leased["QUEUED"],
                      "running": sum(not t.lease for t in scheduler.running.values())
                      + leased["RUNNING"],
                      "finished": sum(v[0] - v[1] for (k, _), v in counters.items()
                                      if k == "task"),
                      "failed": sum(v[1] for (k, _), v in counters.items() if k == "task")},
            "calls": sum(v[0] for (k, _), v in counters.items() if k == "actor"),
            "objects": self.object_totals(),
            "workers": len(self.node.workers),
        }

    # ------------------------------------------------------------------ metrics
    async def cluster_metrics_text(self) -> str:
        """``render_metrics()``, with the application metrics (``util.metrics``) of every node
        of the cluster: only the head serves /metrics, and user code runs on any node."""
        if self.node.cluster is None:
            return self.render_metrics()
        rows = await self.cluster_state("app_metrics", limit=1_000_000)
        return self.render_metrics(app_rows=rows)

    def render_metrics(self, app_rows: list[dict[str, Any]] | None = None) -> str:
        """The node's metrics in Prometheus text exposition format, then the application
        metrics: this node's, or those of ``app_rows`` (state rows, of several nodes)."""
        node = self.node
        out = PrometheusText()
        counters = self.metrics.counters()
        out.family("actorium_calls_total", "counter",
                   "Tasks and actor calls finished, by kind and function or actor class.",
                   [({"kind": k, "name": n}, v[0]) for (k, n), v in sorted(counters.items())])
        out.family("actorium_call_errors_total", "counter",
                   "Tasks and actor calls that raised, by kind and name.",
                   [({"kind": k, "name": n}, v[1]) for (k, n), v in sorted(counters.items())])
        out.histogram("actorium_call_duration_seconds",
                      "Run time of tasks and actor calls inside the worker.",
                      [({"kind": k, "name": n}, v[3], v[2], v[0])
                       for (k, n), v in sorted(counters.items())])
        queues = self.metrics.queues()
        per_class: dict[str, int] = {}
        restarts: dict[str, int] = {}
        states: dict[str, int] = {}
        for info in node.actors.actors.values():
            pending = queues.get(info.actor_id.hex(), 0)
            per_class[info.class_name] = per_class.get(info.class_name, 0) + pending
            restarts[info.class_name] = restarts.get(info.class_name, 0) + info.restarts
            states[info.status.value] = states.get(info.status.value, 0) + 1
        out.family("actorium_actor_queue_length", "gauge",
                   "Calls queued or running in actor mailboxes, by actor class.",
                   [({"class_name": c}, n) for c, n in sorted(per_class.items())])
        out.family("actorium_actor_restarts_total", "counter",
                   "Actor restarts, by actor class.",
                   [({"class_name": c}, n) for c, n in sorted(restarts.items())])
        out.family("actorium_actors", "gauge", "Actors by state.",
                   [({"state": s}, n) for s, n in sorted(states.items())])
        task_rows = self.summary()["tasks"]
        out.family("actorium_tasks", "gauge", "Tasks by state (queued and running now; "
                   "finished and failed since start).",
                   [({"state": s}, task_rows[s]) for s in ("queued", "running", "finished",
                                                          "failed")])
        workers: dict[tuple[str, str], int] = {}
        for worker in node.workers.values():
            key = (worker.kind.value, worker.state.value)
            workers[key] = workers.get(key, 0) + 1
        out.family("actorium_workers", "gauge", "Worker processes by kind and state.",
                   [({"kind": k, "state": s}, n) for (k, s), n in sorted(workers.items())])
        totals = self.object_totals()
        out.family("actorium_objects", "gauge", "Objects held in the object tables of this "
                   "node's processes.", [({}, totals["count"])])
        out.family("actorium_object_bytes", "gauge",
                   "Bytes of object values held by this node's processes (any location).",
                   [({}, totals["bytes"])])
        store = self._store_figures()
        out.family("actorium_object_store_bytes", "gauge",
                   "The node's shared-memory object store: capacity, bytes in memory, "
                   "bytes spilled to disk.",
                   [({"kind": kind}, value) for kind, value in store.items()])
        traffic = [("node", [node.inbox.received, node.inbox.received_bytes,
                             node.outbox.sent, node.outbox.sent_bytes]),
                   *self.metrics.traffic()]
        out.family("actorium_messages_total", "counter", "ZeroMQ messages, by inbox and "
                   "direction.", [sample for name, values in traffic for sample in (
                       ({"socket": name, "direction": "in"}, values[0]),
                       ({"socket": name, "direction": "out"}, values[2]))])
        out.family("actorium_message_bytes_total", "counter", "Bytes of ZeroMQ messages, "
                   "by inbox and direction.", [sample for name, values in traffic
                                               for sample in (
                       ({"socket": name, "direction": "in"}, values[1]),
                       ({"socket": name, "direction": "out"}, values[3]))])
        out.family("actorium_dropped_frames_total", "counter",
                   "Frames dropped because they were malformed or not authenticated.",
                   [({"socket": "node", "reason": "malformed"}, node.inbox.dropped),
                    ({"socket": "node", "reason": "unauthenticated"}, node.auth.rejected)])
        out.family("actorium_resources_total", "gauge", "Resources of this node.",
                   [({"resource": r}, v) for r, v in sorted(node.resources.total.items())])
        out.family("actorium_resources_available", "gauge", "Resources not reserved.",
                   [({"resource": r}, v) for r, v in sorted(node.resources.available.items())])
        render_rows(out, self.app_metrics.rows() if app_rows is None else app_rows)
        return out.text()


def _read_store(session_dir: str) -> dict[str, int]:
    try:
        figures = summarize_store(session_dir)
    except OSError:
        return {}   # no store in this session (yet)
    return {"capacity": figures.capacity, "used": figures.used, "spilled": figures.spilled}


def bind_dashboard_socket(host: str, port: int, *, port_was_given: bool) -> socket.socket:
    """Bind the dashboard's listening socket, so its URL is known before the node is ready.

    A port chosen by default that is already taken (another runtime on this machine) moves to
    the next free one; a port the user asked for must be free.
    """
    candidates = [port] if port_was_given else [*range(port, port + 10), 0]
    last_error: OSError | None = None
    for candidate in candidates:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((host, candidate))
        except OSError as exc:
            listener.close()
            last_error = exc
            continue
        listener.listen(128)
        listener.setblocking(False)
        return listener
    raise OSError(f"the dashboard cannot listen on {host}:{port}: {last_error}")


