"""The dashboard's aiohttp application: guards, assets, the API index and the live stream.

Read-only pages and ``GET /api/...`` are open to whoever can reach the port (loopback by
default). Every state-changing endpoint (``POST``) requires the cluster token as
``Authorization: Bearer <token>`` and a JSON body: a custom header and a non-form content type
cannot be sent cross-site without a CORS preflight, which this server never grants, so a
malicious page in the user's browser cannot kill actors. ``Host`` is checked on every request
(against DNS rebinding) and ``Origin``, when present, must be this server.

Each area of the API is a ``*_routes`` module with ``ROUTES`` (what ``GET /api`` lists) and
``add_routes(server, app)``; a new area is a new module named in ``ROUTE_MODULES``.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import socket
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from actorium._node.dashboard import (
    fleet_routes,
    job_routes,
    series_routes,
    state_routes,
    virtual_routes,
)
from actorium._node.dashboard.responses import error, json_response
from actorium._node.dashboard.static_files import StaticFiles

if TYPE_CHECKING:
    from actorium._node.observer import NodeObserver
    from actorium._observe.log_collector import LogLine

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# In this order: /api/version (jobs), /api/series, /api/fleet and /api/timeline must not be
# taken for state tables.
ROUTE_MODULES = (job_routes, series_routes, fleet_routes, state_routes, virtual_routes)
_STREAM_QUEUE = 1000
_SUMMARY_INTERVAL = 1.0
_LOOPBACK = ("127.0.0.1", "localhost", "[::1]", "::1")

# The JSON API, listed at GET /api (the observability docs show the same table).
API: dict[str, str] = {
    "GET /api/ui/pages": "the dashboard's page modules (static/pages/*.js)",
    "GET /api/stream": "server-sent events: summary, log, event",
}
for _module in ROUTE_MODULES:
    API.update(_module.ROUTES)


class DashboardServer:
    """Serves the pages, the JSON API, the live stream and /metrics for one node."""

    def __init__(self, observer: NodeObserver, token: str) -> None:
        self.observer = observer
        self.token = token
        self.url = ""
        self.static = StaticFiles()
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
        app.add_routes([
            web.get("/", self._index),
            web.get("/static/{name:.+}", self._static),
            web.get("/api", self._api_index),
            web.get("/api/ui/pages", self._page_modules),
            web.get("/api/stream", self._stream),
        ])
        for module in ROUTE_MODULES:
            module.add_routes(self, app)
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
            return error(421, f"this dashboard does not serve the host {host!r}")
        origin = request.headers.get("Origin")
        if origin is not None and origin != f"http://{host}":
            return error(403, "cross-origin requests are refused")
        response = await handler(request)
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
            "script-src 'self'; "
            "connect-src 'self'; frame-ancestors 'none'")
        return response

    def authorized(self, request: web.Request) -> str | None:
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
        return web.Response(body=self.static.index(), content_type="text/html",
                            headers={"Cache-Control": "no-cache"})

    async def _static(self, request: web.Request) -> web.StreamResponse:
        return self._file(request.match_info["name"])

    def _file(self, name: str) -> web.Response:
        found = self.static.read(name)
        if found is None:
            return error(404, f"no static file {name!r}")
        body, content_type = found
        return web.Response(body=body, content_type=content_type,
                            headers={"Cache-Control": "no-cache"})

    async def _page_modules(self, _request: web.Request) -> web.StreamResponse:
        return json_response(self.static.page_modules())

    async def _api_index(self, _request: web.Request) -> web.StreamResponse:
        return json_response(API)

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
            # Driver events (progress bars...) travel with the lines but are not log lines.
            lines = [line.as_dict() for line in batch if line.stream != "event"]
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
