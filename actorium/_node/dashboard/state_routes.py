"""The state API behind the pages: summary, tables, one actor, kill and restart, /metrics."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from actorium._node.dashboard.responses import error, json_response

if TYPE_CHECKING:
    from actorium._node.dashboard.server import DashboardServer

ROUTES = {
    "GET /api/summary": "overview: nodes, resources, actors by state, task counts",
    "GET /api/nodes": "nodes with resources used and total, CPU and memory",
    "GET /api/actors?state=&search=": "actors (filter by state, search id/class/name)",
    "GET /api/actors/{actor_id}": "one actor with its recent calls, log lines and events",
    "GET /api/tasks?state=": "queued, running and failed tasks",
    "GET /api/workers": "worker processes",
    "GET /api/objects": "objects held by the node's processes",
    "GET /api/logs?pid=&actor_id=&after=": "recent worker output lines",
    "GET /api/events?after=": "timeline of actor, worker and node events",
    "GET /api/app_metrics?name=": "application metrics (util.metrics) of every node",
    "POST /api/actors/{actor_id}/kill": "kill an actor for good (token required)",
    "POST /api/actors/{actor_id}/restart": "restart an actor (token required)",
    "GET /metrics": "Prometheus text format",
}


def add_routes(server: DashboardServer, app: web.Application) -> None:
    routes = StateRoutes(server)
    app.add_routes([
        web.get("/api/summary", routes.summary),
        web.get("/api/actors/{actor_id}", routes.actor),
        web.get("/api/{kind}", routes.table),
        web.post("/api/actors/{actor_id}/{action}", routes.actor_action),
        web.get("/metrics", routes.metrics),
    ])


class StateRoutes:
    def __init__(self, server: DashboardServer) -> None:
        self.server = server
        self.observer = server.observer

    async def summary(self, _request: web.Request) -> web.StreamResponse:
        return json_response(await self.observer.cluster_summary())

    async def table(self, request: web.Request) -> web.StreamResponse:
        kind = request.match_info["kind"]
        query = dict(request.query)
        try:
            limit = int(query.pop("limit", "1000"))
            for key in ("pid", "after"):
                if key in query:
                    query[key] = int(query[key])  # type: ignore[assignment]
            rows = await self.observer.cluster_state(kind, limit=limit, **query)
        except (ValueError, TypeError) as exc:
            return error(400, str(exc))
        return json_response(rows)

    async def actor(self, request: web.Request) -> web.StreamResponse:
        try:
            return json_response(
                await self.observer.cluster_actor_detail(request.match_info["actor_id"]))
        except LookupError as exc:
            return error(404, str(exc))

    async def actor_action(self, request: web.Request) -> web.StreamResponse:
        refusal = self.server.authorized(request)
        if refusal is not None:
            return error(403, refusal)
        action = request.match_info["action"]
        if action not in ("kill", "restart"):
            return error(404, f"unknown action {action!r}; use kill or restart")
        try:
            actor_id = bytes.fromhex(request.match_info["actor_id"])
        except ValueError:
            return error(400, "the actor id must be hex")
        manager = self.observer.node.actors
        info = manager.actors.get(actor_id)
        if info is None and self.observer.node.cluster is not None:
            return await self._remote_actor_action(actor_id, action)
        if info is None:
            return error(404, f"no actor {actor_id.hex()} on this node")
        if info.status.value == "DEAD":
            return error(409, f"actor {info.label} is already dead")
        if action == "restart" and not manager.can_restart(info):
            return error(409, f"actor {info.label} has no restarts left "
                              f"(max_restarts={info.options.get('max_restarts', 0)})")
        manager.kill(actor_id, no_restart=(action == "kill"))
        self.observer.events.record(f"dashboard_{action}",
                                    f"{action} of actor {info.label} asked from the dashboard",
                                    actor_id=actor_id.hex(), class_name=info.class_name)
        return json_response({"ok": True, "actor_id": actor_id.hex(), "action": action})

    async def _remote_actor_action(self, actor_id: bytes, action: str) -> web.StreamResponse:
        """Kill or restart an actor hosted by another node of the cluster (via the head)."""
        try:
            detail = await self.observer.cluster_actor_detail(actor_id.hex())
        except LookupError as exc:
            return error(404, str(exc))
        if detail["state"] == "DEAD":
            return error(409, f"actor {detail['class_name']}({actor_id.hex()}) is already dead")
        self.observer.node.cluster.request("kill_actor", actor_id, action == "kill")
        self.observer.events.record(f"dashboard_{action}",
                                    f"{action} of actor {detail['class_name']}"
                                    f"({actor_id.hex()}) asked from the dashboard",
                                    actor_id=actor_id.hex(), class_name=detail["class_name"])
        return json_response({"ok": True, "actor_id": actor_id.hex(), "action": action})

    async def metrics(self, _request: web.Request) -> web.StreamResponse:
        return web.Response(text=await self.observer.cluster_metrics_text(),
                            content_type="text/plain", charset="utf-8",
                            headers={"X-Prometheus-Format": "0.0.4"})
