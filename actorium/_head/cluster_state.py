"""The cluster seen whole: every node's state rows gathered by the head and merged.

Each node answers for itself (its ``state`` verb: actors, tasks, workers, objects, events,
logs). When someone asks for the cluster (``util.state.list_*``, ``actorium list``, the head's
dashboard), the head asks every live node at once, waits at most ``ASK_SECONDS`` for each, and
merges the rows, each marked with the ``node_id`` it came from. Nodes that do not answer in
time are left out and named in the log; dead nodes appear in ``nodes`` with their death.
Nothing here is on the path of a call.

A connected driver also prints what the workers of every node print: the head asks every
node (and every node that joins later) to send the driver its output lines.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from actorium._transport.protocol import Kind

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
    if kind == "actor_page":   # each node sent its first `limit`: merge them in one order
        rows.sort(key=lambda row: (row["class_name"], row["actor_id"]))
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


class ClusterObserver:
    """Answers the head's verbs about the whole cluster, and spreads log subscriptions."""

    def __init__(self, head: HeadService) -> None:
        self.head = head
        # Drivers that print what every node's workers print (init(log_to_driver=True)).
        self.log_subscribers: set[str] = set()
        head.verbs.update({
            "cluster_state": lambda kind, query, limit: gather_state(head, kind, query, limit),
            "cluster_summary": lambda: gather_summary(head),
            "cluster_actor_detail": lambda actor_id: find_actor_detail(head, actor_id),
            "subscribe_logs": self.subscribe_logs,
            "unsubscribe_logs": self.unsubscribe_logs,
        })

    def subscribe_logs(self, driver: str) -> bool:
        self.log_subscribers.add(driver)
        self.head.tell_nodes("subscribe_logs", driver, True)
        return True

    def unsubscribe_logs(self, driver: str) -> bool:
        self.log_subscribers.discard(driver)
        self.head.tell_nodes("unsubscribe_logs", driver)
        return True

    def node_joined(self, address: str) -> None:
        for driver in self.log_subscribers:
            self.head.send(address, [Kind.REQUEST, 0, self.head.address, "subscribe_logs",
                                     [driver, True]])
