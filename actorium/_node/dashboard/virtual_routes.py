"""Virtual actors on the dashboard: types with active and passivated counts, activations per
node, reminders (read-only; nothing here changes anything, so no token is needed)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from actorium._node.dashboard.responses import error, json_response
from actorium.exceptions import ActoriumError

if TYPE_CHECKING:
    from actorium._node.dashboard.server import DashboardServer

ROUTES = {
    "GET /api/virtual/summary": "virtual actor types: active, saved and passivated counts, "
                                "activations per node and in total",
    "GET /api/virtual/reminders?type=&key=&limit=": "durable reminders, soonest first",
}


def add_routes(server: DashboardServer, app: web.Application) -> None:
    routes = VirtualRoutes(server)
    app.add_routes([
        web.get("/api/virtual/summary", routes.summary),
        web.get("/api/virtual/reminders", routes.reminders),
    ])


class VirtualRoutes:
    def __init__(self, server: DashboardServer) -> None:
        self.virtual = server.observer.node.virtual

    async def summary(self, _request: web.Request) -> web.StreamResponse:
        try:
            return json_response(await self.virtual.verb_summary())
        except (ActoriumError, TimeoutError) as exc:
            return error(503, f"the state store cannot be read: {exc}")

    async def reminders(self, request: web.Request) -> web.StreamResponse:
        query = request.query
        try:
            limit = int(query.get("limit", "200"))
            if limit < 1:
                raise ValueError("limit must be positive")
        except ValueError as exc:
            return error(400, str(exc))
        try:
            rows = await self.virtual.verb_reminders(query.get("type") or None,
                                                     query.get("key") or None, limit)
        except (ActoriumError, TimeoutError) as exc:
            return error(503, f"the state store cannot be read: {exc}")
        return json_response(rows)
