"""The time series API: what the runtime sampled of itself over the last hour.

Each node keeps its own series (``_node/sampler.py``); in a cluster the head gathers them.
A series of the same scope, key and metric on several nodes (an actor class with actors on
three nodes) is merged here, tick by tick: rates, counts and bytes add up, latency quantiles
and maxima take the largest node's value (a bound, not an exact quantile of the union), and
a percentage of the machine is averaged. ``scope=cluster`` merges the series of every node
into one, for the Overview; ``node=<id>`` keeps the rows of one node apart instead.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from actorium._node.dashboard.responses import error, json_response
from actorium._observe.timeseries import SCOPES

if TYPE_CHECKING:
    from actorium._node.dashboard.server import DashboardServer

ROUTES = {
    "GET /api/series?scope=&key=&metric=&window=&node=":
        "time series (scope cluster, node, class, function, actor or app; last hour)",
    "GET /api/series/catalog?scope=": "which series exist, by scope and key",
}
_WINDOW = 3600.0
_KNOWN = {"scope", "key", "metric", "window", "since", "node"}
_TAKE_MAX = ("p50", "p99", "p50_ms", "p99_ms", "mailbox_max")
_AVERAGE = ("machine_cpu_percent",)


def add_routes(server: DashboardServer, app: web.Application) -> None:
    routes = SeriesRoutes(server)
    app.add_routes([web.get("/api/series", routes.series),
                    web.get("/api/series/catalog", routes.catalog)])


def merge(rows: list[dict[str, Any]], *, by_key: bool = True) -> list[dict[str, Any]]:
    """Merge rows of several nodes tick by tick (see the module docstring)."""
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for row in rows:
        key = row["key"] if by_key else ""
        groups.setdefault((row["scope"], key, row["metric"]), []).append(row)
    merged = []
    for (scope, key, metric), members in groups.items():
        by_time: dict[float, list[float]] = {}
        for row in members:
            for when, value in row["points"]:
                by_time.setdefault(when, []).append(value)
        points = [[when, round(_combine(metric, values), 4)]
                  for when, values in sorted(by_time.items())]
        merged.append({"scope": "cluster" if not by_key else scope, "key": key,
                       "metric": metric, "points": points,
                       "nodes": sorted({row.get("node_id", "") for row in members})})
    merged.sort(key=lambda row: (row["key"], row["metric"]))
    return merged


def _combine(metric: str, values: list[float]) -> float:
    if metric in _TAKE_MAX:
        return max(values)
    if metric in _AVERAGE:
        return sum(values) / len(values)
    return sum(values)


class SeriesRoutes:
    def __init__(self, server: DashboardServer) -> None:
        self.observer = server.observer

    async def series(self, request: web.Request) -> web.StreamResponse:
        query = request.query
        unknown = set(query) - _KNOWN
        if unknown:
            return error(400, f"unknown parameter(s) {', '.join(sorted(unknown))}; "
                              f"expected {', '.join(sorted(_KNOWN))}")
        scope = query.get("scope", "cluster")
        if scope not in ("cluster", *SCOPES):
            return error(400, f"unknown series scope {scope!r}; expected one of cluster, "
                              f"{', '.join(SCOPES)}")
        try:
            window = float(query.get("window", _WINDOW))
            since = float(query["since"]) if "since" in query else time.time() - window
        except ValueError:
            return error(400, "window and since must be numbers (seconds)")
        if window <= 0:
            return error(400, f"window must be positive, not {window}")
        wanted: dict[str, Any] = {"scope": "node" if scope == "cluster" else scope,
                                  "since": since}
        for name in ("key", "metric"):
            if query.get(name):
                wanted[name] = query[name]
        try:
            rows = await self.observer.cluster_state("series", limit=1_000_000, **wanted)
        except ValueError as exc:
            return error(400, str(exc))
        node = query.get("node")
        if node:
            return json_response([row for row in rows if row["node_id"] == node])
        return json_response(merge(rows, by_key=scope != "cluster"))

    async def catalog(self, request: web.Request) -> web.StreamResponse:
        scope = request.query.get("scope")
        try:
            rows = await self.observer.cluster_state("series_catalog", limit=1_000_000,
                                                     **({"scope": scope} if scope else {}))
        except ValueError as exc:
            return error(400, str(exc))
        merged: dict[tuple[str, str], set[str]] = {}
        for row in rows:
            merged.setdefault((row["scope"], row["key"]), set()).update(row["metrics"])
        return json_response([{"scope": s, "key": k, "metrics": sorted(m)}
                              for (s, k), m in sorted(merged.items())])
