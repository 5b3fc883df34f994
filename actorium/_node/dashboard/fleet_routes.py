"""The fleet API: actors grouped and counted, served a page at a time; events in groups; the
timeline of what ran where.

With 100,000 actors the browser must never receive the whole table. Every node counts its own
actors (``actor_groups``, ``actor_count``) and sends only the first rows of a page in one
order (class, then id); the head concatenates and re-sorts them, so the page shown is the same
whichever node an actor lives on, and the totals are true counts, not the length of a list.
All routes here only read; none needs the token.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from actorium._node.dashboard.responses import error, json_response

if TYPE_CHECKING:
    from actorium._node.dashboard.server import DashboardServer

ROUTES = {
    "GET /api/fleet/classes": "actors grouped by class: counts per state and per node",
    "GET /api/fleet/actors?state=&class_name=&node_id=&search=&offset=&limit=":
        "one page of actors (by class, then id) with the true total that match",
    "GET /api/fleet/events?after=": "events aggregated by kind and class (count, time span)",
    "GET /api/fleet/events/drill?kind=&class_name=&since=&until=": "the events of one group",
    "GET /api/timeline?since=&limit=&download=": "what ran where, in Chrome's trace format "
                                                 "(the latest `limit` events)",
}
_FILTERS = ("state", "class_name", "node_id", "search")
_PAGE = 50
_PAGE_MAX = 1000
_OFFSET_MAX = 1_000_000
_ALL = 10_000_000
# A timeline answer holds at most this many timed events (each node keeps its latest 5,000
# calls, so a large cluster could otherwise send tens of megabytes on every refresh).
TIMELINE_LIMIT = 50_000


def add_routes(server: DashboardServer, app: web.Application) -> None:
    routes = FleetRoutes(server)
    app.add_routes([web.get("/api/fleet/classes", routes.classes),
                    web.get("/api/fleet/actors", routes.actors),
                    web.get("/api/fleet/events", routes.events),
                    web.get("/api/fleet/events/drill", routes.drill),
                    web.get("/api/timeline", routes.timeline)])


def _unknown(query: Any, known: tuple[str, ...]) -> web.Response | None:
    unknown = set(query) - set(known)
    if unknown:
        return error(400, f"unknown parameter(s) {', '.join(sorted(unknown))}; expected "
                          f"{', '.join(known)}")
    return None


def _int(query: Any, name: str, default: int, low: int, high: int) -> int:
    raw = query.get(name, str(default))
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be an integer, not {raw!r}") from None
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}, not {value}")
    return value


def group_classes(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Merge the per-node class rows into one row per class (states and nodes summed)."""
    merged: dict[str, dict[str, Any]] = {}
    for row in rows:
        group = merged.setdefault(row["class_name"], {"class_name": row["class_name"],
                                                       "total": 0, "states": {}, "nodes": {}})
        group["total"] += row["total"]
        group["nodes"][row["node_id"]] = group["nodes"].get(row["node_id"], 0) + row["total"]
        for state, count in row["states"].items():
            group["states"][state] = group["states"].get(state, 0) + count
    return sorted(merged.values(), key=lambda g: (-g["total"], g["class_name"]))


class FleetRoutes:
    def __init__(self, server: DashboardServer) -> None:
        self.observer = server.observer

    async def classes(self, request: web.Request) -> web.StreamResponse:
        refusal = _unknown(request.query, ())
        if refusal is not None:
            return refusal
        rows = await self.observer.cluster_state("actor_groups", limit=_ALL)
        groups = group_classes(rows)
        return json_response({"total": sum(g["total"] for g in groups), "classes": groups})

    async def actors(self, request: web.Request) -> web.StreamResponse:
        query = request.query
        refusal = _unknown(query, (*_FILTERS, "offset", "limit"))
        if refusal is not None:
            return refusal
        try:
            offset = _int(query, "offset", 0, 0, _OFFSET_MAX)
            limit = _int(query, "limit", _PAGE, 1, _PAGE_MAX)
        except ValueError as exc:
            return error(400, str(exc))
        filters = {name: query[name] for name in _FILTERS if query.get(name)}
        counts = await self.observer.cluster_state("actor_count", limit=_ALL, **filters)
        if self.observer.node.cluster is None:   # one node: it sends the page alone
            rows = await self.observer.cluster_state("actor_page", limit=offset + limit,
                                                     offset=offset, **filters)
        else:
            rows = await self.observer.cluster_state("actor_page", limit=offset + limit,
                                                     **filters)
            rows = rows[offset:offset + limit]
        return json_response({"total": sum(row["total"] for row in counts), "offset": offset,
                              "limit": limit, "rows": rows})

    async def events(self, request: web.Request) -> web.StreamResponse:
        refusal = _unknown(request.query, ("after",))
        if refusal is not None:
            return refusal
        try:
            after = _int(request.query, "after", 0, 0, 2**62)
        except ValueError as exc:
            return error(400, str(exc))
        rows = await self.observer.cluster_state("event_groups", limit=_ALL, after=after)
        rows.sort(key=lambda group: group["last_time"])
        return json_response(rows[-2000:])

    async def drill(self, request: web.Request) -> web.StreamResponse:
        query = request.query
        refusal = _unknown(query, ("kind", "class_name", "since", "until"))
        if refusal is not None:
            return refusal
        if not query.get("kind"):
            return error(400, "kind is required (the kind of the event group)")
        wanted: dict[str, Any] = {"event_kind": query["kind"],
                                  "class_name": query.get("class_name", "")}
        try:
            for name in ("since", "until"):
                if name in query:
                    wanted[name] = float(query[name])
        except ValueError:
            return error(400, "since and until must be numbers (seconds since the epoch)")
        return json_response(await self.observer.cluster_state("events", limit=2000, **wanted))

    async def timeline(self, request: web.Request) -> web.StreamResponse:
        """The trace events that ended after ``since``: the latest ``limit`` calls and marks,
        with the metadata naming every row; a header says how many older ones were left out."""
        query = request.query
        refusal = _unknown(query, ("since", "limit", "download"))
        if refusal is not None:
            return refusal
        try:
            since = float(query.get("since", "0"))
        except ValueError:
            return error(400, f"since must be a number (seconds), not {query['since']!r}")
        try:
            limit = _int(query, "limit", TIMELINE_LIMIT, 1, TIMELINE_LIMIT)
        except ValueError as exc:
            return error(400, str(exc))
        rows, dropped = latest_trace_events(
            await self.observer.cluster_state("timeline", limit=_ALL, since=since), limit)
        headers = {"X-Actorium-Dropped": str(dropped)}
        if query.get("download") not in (None, "", "0"):
            name = time.strftime("actorium-timeline-%Y%m%d-%H%M%S.json")
            headers.update({"Content-Disposition": f'attachment; filename="{name}"',
                            "Cache-Control": "no-store"})
            return web.Response(text=json.dumps(rows), content_type="application/json",
                                headers=headers)
        response = json_response(rows)
        response.headers.update(headers)
        return response


def latest_trace_events(rows: list[dict[str, Any]],
                        limit: int) -> tuple[list[dict[str, Any]], int]:
    """Keep the metadata events and the ``limit`` latest timed ones (in time order); also
    return how many timed events were left out."""
    metadata = [row for row in rows if row.get("ph") == "M"]
    timed = [row for row in rows if row.get("ph") != "M"]
    if len(timed) <= limit:
        return rows, 0
    timed.sort(key=lambda row: row.get("ts", 0.0))
    return metadata + timed[-limit:], len(timed) - limit
