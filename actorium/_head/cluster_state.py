"""The cluster seen whole: every node's state rows gathered by the head and merged.

Each node answers for itself (its ``state`` verb: actors, tasks, workers, objects, events,
logs). When someone asks for the cluster (``util.state.list_*``, ``actorium list``, the head's
dashboard), the head asks every live node at once, waits at most ``ASK_SECONDS`` for each, and
merges the rows, each marked with the ``node_id`` it came from. Nodes that do not answer in
time are left out and named in the log; dead nodes appear in ``nodes`` with their death.
Nothing here is on the path of a call.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from actorium._head.service import HeadService

ASK_SECONDS = 5.0
_log = logging.getLogger("actorium.head")


async def _ask_all(head: HeadService, verb: str, *args: Any) -> list[tuple[str, Any]]:
    """(node id, answer) of every live node that answered ``verb`` in time."""
    live = [(node_id.hex(), r["address"]) for node_id, r in head.nodes.items()
            if r.get("alive")]
    answers = await asyncio.gather(
        *(head.ask(address, verb, *args, timeout=ASK_SECONDS) for _, address in live),
        return_exceptions=True)
    found = []
    for (node_id, address), answer in zip(live, answers, strict=True):
        if isinstance(answer, BaseException):
            _log.warning("node %s (%s) did not answer %r: %s", node_id[:12], address, verb,
                         type(answer).__name__)
            continue
        found.append((node_id, answer))
    return found


async def gather_state(head: HeadService, kind: str, query: dict[str, Any],
                       limit: int) -> list[dict[str, Any]]:
    """Rows of ``kind`` from every node, each with its ``node_id``."""
    rows: list[dict[str, Any]] = []
    for node_id, answer in await _ask_all(head, "state", kind, query, limit, True):
        for row in answer:
            row.setdefault("node_id", node_id)
            rows.append(row)
    if kind == "nodes":
        rows.extend(_dead_nodes(head))
    if kind in ("events", "logs"):
        rows.sort(key=lambda row: row.get("time", 0.0))
        return rows[-limit:]
    return rows[:limit]


def _dead_nodes(head: HeadService) -> list[dict[str, Any]]:
    return [{"node_id": node_id.hex(), "state": "DEAD", "address": r["address"],
             "hostname": r.get("hostname", ""), "is_head": False,
             "resources_total": r.get("total", {}), "resources_available": {},
             "death_reason": r.get("death_reason", "")}
            for node_id, r in head.nodes.items() if not r.get("alive")]


async def gather_summary(head: HeadService) -> dict[str, Any]:
    """The dashboard's overview, summed over every node."""
    merged: dict[str, Any] = {"nodes": [], "actors_by_state": {},
                              "tasks": {"queued": 0, "running": 0, "finished": 0, "failed": 0},
                              "calls": 0, "objects": {"count": 0, "bytes": 0}, "workers": 0}
    for _node_id, summary in await _ask_all(head, "summary", True):
        merged["nodes"].extend(summary["nodes"])
        for state, count in summary["actors_by_state"].items():
            merged["actors_by_state"][state] = merged["actors_by_state"].get(state, 0) + count
        for key in merged["tasks"]:
            merged["tasks"][key] += summary["tasks"].get(key, 0)
        for key in merged["objects"]:
            merged["objects"][key] += summary["objects"].get(key, 0)
        merged["calls"] += summary["calls"]
        merged["workers"] += summary["workers"]
    merged["nodes"].extend(_dead_nodes(head))
    return merged


async def find_actor_detail(head: HeadService, actor_id: str) -> dict[str, Any]:
    """One actor's detail page, from whichever node hosts it (LookupError if none)."""
    record = head.actors.get(bytes.fromhex(actor_id))
    node_hex = record.get("node_id") if record else None
    node = head.nodes.get(bytes.fromhex(node_hex)) if node_hex else None
    if node is None or not node.get("alive"):
        raise LookupError(f"no live node hosts actor {actor_id}")
    detail: dict[str, Any] = await head.ask(node["address"], "actor_detail", actor_id,
                                            timeout=ASK_SECONDS)
    return detail
