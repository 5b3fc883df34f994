"""The dashboard: an aiohttp app served by the node, with a JSON API behind every page.

Read-only pages and ``GET /api/...`` are open to whoever can reach the port (loopback by
default). Every state-changing endpoint (``POST``) requires the cluster token as
``Authorization: Bearer <token>`` and a JSON body: a custom header and a non-form content type
cannot be sent cross-site without a CORS preflight, which this server never grants, so a
malicious page in the user's browser cannot kill actors. ``Host`` is checked on every request
(against DNS rebinding) and ``Origin``, when present, must be this server.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import socket
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from actorium._node.observer import NodeObserver
    from actorium._observe.log_collector import LogLine

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

STATIC_FILES = {"index.html": "text/html", "app.js": "text/javascript",
                "style.css": "text/css"}
_STREAM_QUEUE = 1000
_SUMMARY_INTERVAL = 1.0
_LOOPBACK = ("127.0.0.1", "localhost", "[::1]", "::1")

# The JSON API, listed at GET /api (the dashboard docs page shows the same table).
API = {
    "GET /api/summary": "overview: nodes, resources, actors by state, task counts",
    "GET /api/nodes": "nodes with resources used and total, CPU and memory",
    "GET /api/actors?state=&search=": "actors (filter by state, search id/class/name)",
    "GET /api/actors/{actor_id}": "one actor with its recent calls, log lines and events",
    "GET /api/tasks?state=": "queued, running and failed tasks",
    "GET /api/workers": "worker processes",
    "GET /api/objects": "objects held by the node's processes",
    "GET /api/logs?pid=&actor_id=&after=": "recent worker output lines",
    "GET /api/events?after=": "timeline of actor, worker and node events",
    "GET /api/stream": "server-sent events: summary, log, event",
    "POST /api/actors/{actor_id}/kill": "kill an actor for good (token required)",
    "POST /api/actors/{actor_id}/restart": "restart an actor (token required)",
    "GET /metrics": "Prometheus text format",
    "GET|POST|DELETE /api/jobs/...": "the job API, Ray's routes (token required on every "
                                     "route; see docs/jobs.md)",
}


class DashboardServer:
    """Serves the pages, the JSON API, the live stream and /metrics for one node."""

    def __init__(self, observer: NodeObserver, token: str,
                 extensions: list[Callable[[web.Application], None]] | None = None) -> None:
        self.observer = observer
        self.token = token
        # Route providers of other parts (the job API), added before the generic routes.
        self.extensions = list(extensions or [])
        self.url = ""
        self._runner: web.AppRunner | None = None
        self._streams: set[asyncio.Queue[tuple[str, Any]]] = set()
        self._allowed_hosts: set[str] = set()
        self._open_to_any_host = False

    # ------------------------------------------------------------------ lifecycle
    async def start(self, listener: socket.socket) -> None:
        host, port = listener.getsockname()[:2]
        if host in ("0.0.0.0", "::"):
            self._open_to_any_host = True
            shown = "127.0.0.1"
        else:
            shown = f"[{host}]" if ":" in host else host
        self._allowed_hosts = {f"{name}:{port}" for name in (*_LOOPBACK, shown)}
        self.url = f"http://{shown}:{port}"
        app = web.Application(middlewares=[self._guard], client_max_size=64 * 1024)
        for extend in self.extensions:
            extend(app)
        app.add_routes([
            web.get("/", self._index),
            web.get("/static/{name}", self._static),
            web.get("/api", self._api_index),
            web.get("/api/summary", self._summary),
            web.get("/api/stream", self._stream),
            web.get("/api/actors/{actor_id}", self._actor),
            web.get("/api/{kind}", self._table),
            web.post("/api/actors/{actor_id}/{action}", self._actor_action),
            web.get("/metrics", self._metrics),
        ])
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        await web.SockSite(self._runner, listener).start()
        self.observer.logs.listeners.append(self._on_log_lines)
        self.observer.events.listeners.append(self._on_event)

    async def stop(self) -> None:
        for queue in list(self._streams):
            _offer(queue, ("close", None))
        if self._runner is not None:
            await self._runner.cleanup()

    # ------------------------------------------------------------------ guards
    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        host = request.headers.get("Host", "")
        if not self._open_to_any_host and host not in self._allowed_hosts:
            return _error(421, f"this dashboard does not serve the host {host!r}")
        origin = request.headers.get("Origin")
        if origin is not None and origin != f"http://{host}":
            return _error(403, "cross-origin requests are refused")
        response = await handler(request)
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
            "script-src 'self'; "
            "connect-src 'self'; frame-ancestors 'none'")
        return response

    def _authorized(self, request: web.Request) -> str | None:
        """None when the request may change state, else why not."""
        sent = request.headers.get("Authorization", "")
        if not sent.startswith("Bearer ") or not hmac.compare_digest(
                sent[len("Bearer "):].encode(), self.token.encode()):
            return "a valid cluster token is required (Authorization: Bearer <token>)"
        if request.content_type != "application/json":
            return "state-changing requests must send a JSON body"
        site = request.headers.get("Sec-Fetch-Site")
        if site not in (None, "same-origin", "none"):
            return "cross-site requests are refused"
        return None

    # ------------------------------------------------------------------ pages
    async def _index(self, _request: web.Request) -> web.StreamResponse:
        return self._file("index.html")

    async def _static(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in STATIC_FILES:
            return _error(404, f"no static file {name!r}")
        return self._file(name)

    def _file(self, name: str) -> web.Response:
        body = resources.files("actorium._node").joinpath("static", name).read_bytes()
        return web.Response(body=body, content_type=STATIC_FILES[name],
                            headers={"Cache-Control": "no-cache"})

    # ------------------------------------------------------------------ API
    async def _api_index(self, _request: web.Request) -> web.StreamResponse:
        return _json_response(API)

    async def _summary(self, _request: web.Request) -> web.StreamResponse:
        return _json_response(await self.observer.cluster_summary())

    async def _table(self, request: web.Request) -> web.StreamResponse:
        kind = request.match_info["kind"]
        query = dict(request.query)
        try:
            limit = int(query.pop("limit", "1000"))
            for key in ("pid", "after"):
                if key in query:
                    query[key] = int(query[key])  # type: ignore[assignment]
            rows = await self.observer.cluster_state(kind, limit=limit, **query)
        except (ValueError, TypeError) as exc:
            return _error(400, str(exc))
        return _json_response(rows)

    async def _actor(self, request: web.Request) -> web.StreamResponse:
        try:
            return _json_response(
                await self.observer.cluster_actor_detail(request.match_info["actor_id"]))
        except LookupError as exc:
            return _error(404, str(exc))

    async def _actor_action(self, request: web.Request) -> web.StreamResponse:
        refusal = self._authorized(request)
        if refusal is not None:
            return _error(403, refusal)
        action = request.match_info["action"]
        if action not in ("kill", "restart"):
            return _error(404, f"unknown action {action!r}; use kill or restart")
        try:
            actor_id = bytes.fromhex(request.match_info["actor_id"])
        except ValueError:
            return _error(400, "the actor id must be hex")
        manager = self.observer.node.actors
        info = manager.actors.get(actor_id)
        if info is None and self.observer.node.cluster is not None:
            return await self._remote_actor_action(actor_id, action)
        if info is None:
            return _error(404, f"no actor {actor_id.hex()} on this node")
        if info.status.value == "DEAD":
            return _error(409, f"actor {info.label} is already dead")
        if action == "restart" and not manager.can_restart(info):
            return _error(409, f"actor {info.label} has no restarts left "
                               f"(max_restarts={info.options.get('max_restarts', 0)})")
        manager.kill(actor_id, no_restart=(action == "kill"))
        self.observer.events.record(f"dashboard_{action}",
                                    f"{action} of actor {info.label} asked from the dashboard",
                                    actor_id=actor_id.hex(), class_name=info.class_name)
        return _json_response({"ok": True, "actor_id": actor_id.hex(), "action": action})

    async def _remote_actor_action(self, actor_id: bytes, action: str) -> web.StreamResponse:
        """Kill or restart an actor hosted by another node of the cluster (via the head)."""
        try:
            detail = await self.observer.cluster_actor_detail(actor_id.hex())
        except LookupError as exc:
            return _error(404, str(exc))
        if detail["state"] == "DEAD":
            return _error(409, f"actor {detail['class_name']}({actor_id.hex()}) is already dead")
        self.observer.node.cluster.request("kill_actor", actor_id, action == "kill")
        self.observer.events.record(f"dashboard_{action}",
                                    f"{action} of actor {detail['class_name']}"
                                    f"({actor_id.hex()}) asked from the dashboard",
                                    actor_id=actor_id.hex(), class_name=detail["class_name"])
        return _json_response({"ok": True, "actor_id": actor_id.hex(), "action": action})

    async def _metrics(self, _request: web.Request) -> web.StreamResponse:
        return web.Response(text=self.observer.render_metrics(),
                            content_type="text/plain", charset="utf-8",
                            headers={"X-Prometheus-Format": "0.0.4"})

    # ------------------------------------------------------------------ live stream
    async def _stream(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                               "Cache-Control": "no-cache"})
        await response.prepare(request)
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue(maxsize=_STREAM_QUEUE)
        self._streams.add(queue)
        ticker = asyncio.get_running_loop().create_task(self._tick(queue))
        try:
            while True:
                kind, data = await queue.get()
                if kind == "close":
                    break
                await response.write(f"event: {kind}\ndata: {json.dumps(data)}\n\n".encode())
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            ticker.cancel()
            self._streams.discard(queue)
        return response

    async def _tick(self, queue: asyncio.Queue[tuple[str, Any]]) -> None:
        while True:
            try:
                summary = await asyncio.wait_for(self.observer.cluster_summary(), 10.0)
            except (TimeoutError, LookupError, ValueError):
                summary = self.observer.summary()
            _offer(queue, ("summary", summary))
            await asyncio.sleep(_SUMMARY_INTERVAL)

    def _on_log_lines(self, batch: list[LogLine]) -> None:
        if self._streams:
            lines = [line.as_dict() for line in batch]
            for queue in list(self._streams):
                _offer(queue, ("log", lines))

    def _on_event(self, event: dict[str, Any]) -> None:
        for queue in list(self._streams):
            _offer(queue, ("event", event))


def _offer(queue: asyncio.Queue[tuple[str, Any]], item: tuple[str, Any]) -> None:
    """Queue for a live stream; a reader too slow to keep up misses items, never blocks us."""
    try:
        queue.put_nowait(item)
    except asyncio.QueueFull:
        pass


def _json_response(data: Any) -> web.Response:
    return web.Response(text=json.dumps(data, default=str), content_type="application/json",
                        headers={"Cache-Control": "no-store"})


def _error(status: int, message: str) -> web.Response:
    return web.Response(status=status, text=json.dumps({"error": message}),
                        content_type="application/json")
