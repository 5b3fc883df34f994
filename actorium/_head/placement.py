"""Placement groups: choosing nodes for bundles, reserving them, answering whoever waits.

A placement group is a list of *bundles* (resource dicts) reserved together, with Ray's
strategies: ``STRICT_PACK`` (all on one node), ``PACK`` (as few nodes as possible),
``STRICT_SPREAD`` (each on a different node) and ``SPREAD`` (different nodes where possible).

One ``PlacementGroups`` keeps every group of a cluster. The head owns it in a cluster (its
nodes are the live nodes it knows, reserving is a request to a node); a lone node owns one in
an embedded runtime (its only node is itself). Creation is checked against what the nodes
*have* (a group that can never fit is refused at once, naming why); placement then waits
until the nodes have enough *free*, reserves every bundle (all or none: a refusal releases the
others and the group tries again) and wakes the ``wait`` calls behind ``pg.ready()``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

STRATEGIES = ("PACK", "SPREAD", "STRICT_PACK", "STRICT_SPREAD")
# How often a pending group looks again for room (resources free up without telling us).
_RETRY_SECONDS = 0.2

Bundle = dict[str, float]


class GroupState(StrEnum):
    PENDING = "PENDING"
    CREATED = "CREATED"
    RESCHEDULING = "RESCHEDULING"   # a node holding bundles died: placing those again
    REMOVED = "REMOVED"
    FAILED = "FAILED"               # its nodes left before it could ever be placed


_LIVE = (GroupState.PENDING, GroupState.CREATED, GroupState.RESCHEDULING)
_PLACING = (GroupState.PENDING, GroupState.RESCHEDULING)


@dataclass
class NodeRoom:
    """What a node has (``total``) and has free (``available``), as last known."""

    node_id: str
    total: dict[str, float]
    available: dict[str, float]


@dataclass
class Group:
    group_id: str
    name: str
    strategy: str
    bundles: list[Bundle]
    owner: str
    detached: bool
    state: GroupState = GroupState.PENDING
    nodes: list[str] = field(default_factory=list)   # node id of each bundle ("": none yet)
    placing: bool = False
    error: str = ""
    waiters: list[asyncio.Future[bool]] = field(default_factory=list)
    # Ray's "stats": when it was asked for, how many placing attempts, and how long the
    # placing took (from the request, and the successful attempt alone), in milliseconds.
    asked_at: float = field(default_factory=time.monotonic)
    attempts: int = 0
    creation_ms: float = 0.0
    scheduling_ms: float = 0.0

    @property
    def label(self) -> str:
        return f"placement group {self.name or self.group_id}"

    def saved(self) -> dict[str, Any]:
        """What a restarted head needs to know of the group (see ``PlacementGroups.restore``)."""
        return {"group_id": self.group_id, "name": self.name, "strategy": self.strategy,
                "bundles": self.bundles, "owner": self.owner, "detached": self.detached,
                "state": self.state.value, "nodes": self.nodes}

    def describe(self) -> dict[str, Any]:
        """A row of ``placement_group_table()`` (lists where Ray has dicts keyed by bundle
        index: msgpack maps take only string keys here; the public API turns them back)."""
        return {"placement_group_id": self.group_id, "name": self.name,
                "strategy": self.strategy, "state": self.state.value,
                "bundles": [dict(b) for b in self.bundles],
                "bundles_to_node_id": list(self.nodes),
                "stats": {"end_to_end_creation_latency_ms": round(self.creation_ms, 3),
                          "scheduling_latency_ms": round(self.scheduling_ms, 3),
                          "scheduling_attempt": self.attempts,
                          "highest_retry_delay_ms": _RETRY_SECONDS * 1000.0
                          if self.attempts > 1 else 0.0,
                          "scheduling_state": self.scheduling_state},
                "error": self.error}

    @property
    def scheduling_state(self) -> str:
        """Ray's ``stats["scheduling_state"]`` for the group's state."""
        if self.state is GroupState.CREATED:
            return "FINISHED"
        if self.state is GroupState.REMOVED:
            return "REMOVED"
        if self.state is GroupState.FAILED:
            return "INFEASIBLE"
        return "NO_RESOURCES" if self.attempts else "QUEUED"


def _fits(room: dict[str, float], bundle: Bundle) -> bool:
    return all(room.get(k, 0.0) >= v - 1e-9 for k, v in bundle.items() if v > 0)


def _take(room: dict[str, float], bundle: Bundle) -> None:
    for k, v in bundle.items():
        room[k] = room.get(k, 0.0) - v


def plan(bundles: list[Bundle], strategy: str, nodes: list[NodeRoom], *,
         use_total: bool = False) -> list[str] | None:
    """The node id of each bundle, or None if ``nodes`` have no room for the group now
    (``use_total``: ever). Greedy first fit, biggest bundles first."""
    room = {n.node_id: dict(n.total if use_total else n.available) for n in nodes}
    if not room:
        return None
    if strategy in ("STRICT_PACK", "PACK"):
        whole: Bundle = {}
        for bundle in bundles:
            for k, v in bundle.items():
                whole[k] = whole.get(k, 0.0) + v
        for node_id, free in room.items():
            if _fits(free, whole):
                return [node_id] * len(bundles)
        if strategy == "STRICT_PACK":
            return None
    chosen: dict[int, str] = {}
    used: list[str] = []
    order = sorted(range(len(bundles)), key=lambda i: -sum(bundles[i].values()))
    for index in order:
        bundle = bundles[index]
        if strategy == "PACK":
            candidates = used + [n for n in room if n not in used]
        elif strategy == "STRICT_SPREAD":
            candidates = [n for n in room if n not in used]
        else:   # SPREAD: a node without a bundle of the group first, the emptiest first
            candidates = sorted(room, key=lambda n: (used.count(n), -room[n].get("CPU", 0.0)))
        target = next((n for n in candidates if _fits(room[n], bundle)), None)
        if target is None:
            return None
        _take(room[target], bundle)
        chosen[index] = target
        used.append(target)
    return [chosen[i] for i in range(len(bundles))]


def why_infeasible(bundles: list[Bundle], strategy: str, nodes: list[NodeRoom]) -> str:
    """A sentence for a person: why ``plan(..., use_total=True)`` found nothing."""
    if strategy == "STRICT_SPREAD" and len(bundles) > len(nodes):
        return (f"STRICT_SPREAD puts each of its {len(bundles)} bundles on a different node "
                f"and there {'is' if len(nodes) == 1 else 'are'} only {len(nodes)} "
                f"node{'s' if len(nodes) != 1 else ''}")
    for bundle in bundles:
        if not any(_fits(n.total, bundle) for n in nodes):
            return f"no node has the resources of bundle {bundle}"
    if strategy == "STRICT_PACK":
        return "STRICT_PACK needs one node with room for every bundle together, and none has"
    return f"the nodes together cannot hold its bundles with strategy {strategy}"


class PlacementGroups:
    """Every placement group of a cluster (or of a lone node), on one event loop."""

    def __init__(self, *, nodes: Callable[[], list[NodeRoom]],
                 reserve: Callable[[str, str, list[list[Any]]], Awaitable[bool]],
                 release: Callable[[str, str, list[int] | None], None],
                 on_created: Callable[[], None] | None = None,
                 on_change: Callable[[Group], None] | None = None) -> None:
        self._nodes = nodes
        self._on_change = on_change
        self._reserve = reserve
        self._release = release
        self._on_created = on_created
        self.groups: dict[str, Group] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------ requests
    def create(self, group_id: str, bundles: list[Bundle], strategy: str, name: str,
               owner: str, detached: bool) -> bool:
        """Accept a group and start placing it; ValueError if it can never be placed."""
        if strategy not in STRATEGIES:
            raise ValueError(f"placement group strategy must be one of {STRATEGIES}, "
                             f"got {strategy!r}")
        if name and any(g.name == name and g.state in _LIVE for g in self.groups.values()):
            raise ValueError(f"a placement group named {name!r} already exists")
        group = Group(group_id, name, strategy, [dict(b) for b in bundles], owner, detached)
        group.nodes = [""] * len(group.bundles)
        nodes = self._nodes()
        if plan(group.bundles, strategy, nodes, use_total=True) is None:
            raise ValueError(f"{group.label} can never be placed: "
                             f"{why_infeasible(group.bundles, strategy, nodes)}")
        self.groups[group_id] = group
        self._changed(group)
        self._start_placing(group)
        return True

    def restore(self, saved: list[dict[str, Any]]) -> None:
        """Take back the live groups a previous head saved (a restarted head). Their
        reserved bundles are still on the nodes; bundles of nodes that do not come back
        are placed again when those nodes are declared dead."""
        for record in saved:
            state = GroupState(record["state"])
            if state not in _LIVE:
                continue
            group = Group(record["group_id"], record["name"], record["strategy"],
                          record["bundles"], record["owner"], record["detached"], state,
                          list(record["nodes"]))
            self.groups[group.group_id] = group
            if state is not GroupState.CREATED:
                self._start_placing(group)

    def _changed(self, group: Group) -> None:
        if self._on_change is not None:
            self._on_change(group)

    async def wait(self, group_id: str) -> bool:
        """Until the group is created, or placed again (True); ValueError if it is removed
        or failed."""
        group = self._group(group_id)
        while group.state in _PLACING:
            future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
            group.waiters.append(future)
            await future
        if group.state is not GroupState.CREATED:
            raise ValueError(f"{group.label} is {group.state.value.lower()}"
                             + (f": {group.error}" if group.error else ""))
        return True

    def remove(self, group_id: str) -> bool:
        """Release the group's bundles (work running in them is the caller's business)."""
        group = self._group(group_id)
        if group.state not in _LIVE:
            return True
        self._end(group, GroupState.REMOVED, "removed with remove_placement_group()")
        return True

    def remove_owned_by(self, owner: str) -> bool:
        """A driver left: its groups go with it, unless created with lifetime="detached"."""
        for group in list(self.groups.values()):
            if group.owner == owner and not group.detached:
                self.remove(group.group_id)
        return True

    def node_died(self, node_id: str) -> None:
        """Bundles on a dead node are placed again (RESCHEDULING); the others stay."""
        for group in list(self.groups.values()):
            if group.state in (GroupState.CREATED, GroupState.RESCHEDULING) \
                    and node_id in group.nodes:
                group.nodes = ["" if n == node_id else n for n in group.nodes]
                group.state = GroupState.RESCHEDULING
                self._changed(group)
                self._start_placing(group)

    def table(self) -> list[dict[str, Any]]:
        return [group.describe() for group in self.groups.values()]

    def find(self, name: str) -> dict[str, Any]:
        for group in self.groups.values():
            if group.name == name and group.state in _LIVE:
                return group.describe()
        raise ValueError(f"no placement group named {name!r}")

    # ------------------------------------------------------------------ placing
    def _group(self, group_id: str) -> Group:
        group = self.groups.get(group_id)
        if group is None:
            raise ValueError(f"no placement group {group_id}")
        return group

    def _start_placing(self, group: Group) -> None:
        if not group.placing:
            group.placing = True
            task = asyncio.get_running_loop().create_task(self._place(group))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _rooms_for(self, group: Group, missing: list[int]) -> list[NodeRoom]:
        """Nodes a missing bundle may go to, given where the group's other bundles are."""
        rooms = self._nodes()
        kept = {n for i, n in enumerate(group.nodes) if n and i not in missing}
        if group.strategy == "STRICT_SPREAD":
            rooms = [r for r in rooms if r.node_id not in kept]
        elif group.strategy == "STRICT_PACK" and kept:
            rooms = [r for r in rooms if r.node_id in kept]
        elif group.strategy == "PACK":   # next to the others first
            rooms.sort(key=lambda r: r.node_id not in kept)
        return rooms

    async def _place(self, group: Group) -> None:
        """Reserve every bundle not placed yet (all at first; a dead node's later), all of
        them or none on each attempt, until done or the group is removed."""
        try:
            while group.state in _PLACING:
                group.attempts += 1
                attempt_began = time.monotonic()
                missing = [i for i, n in enumerate(group.nodes) if not n]
                wanted = [group.bundles[i] for i in missing]
                targets = plan(wanted, group.strategy, self._rooms_for(group, missing))
                if targets is None:
                    if group.state is GroupState.PENDING and plan(
                            group.bundles, group.strategy, self._nodes(),
                            use_total=True) is None:
                        self._end(group, GroupState.FAILED,
                                  "the nodes that could hold it are gone")
                        return
                    await asyncio.sleep(_RETRY_SECONDS)   # (a node may join meanwhile)
                    continue
                per_node: dict[str, list[list[Any]]] = {}
                for index, node_id in zip(missing, targets, strict=True):
                    per_node.setdefault(node_id, []).append([index, group.bundles[index]])
                    group.nodes[index] = node_id   # tentatively: a release needs to know
                answers = await asyncio.gather(
                    *(self._reserve(node_id, group.group_id, pairs)
                      for node_id, pairs in per_node.items()), return_exceptions=True)
                granted = [n for n, ok in zip(per_node, answers, strict=True) if ok is True]
                if len(granted) == len(per_node) and group.state in _PLACING:
                    now = time.monotonic()
                    group.creation_ms = (now - group.asked_at) * 1000.0
                    group.scheduling_ms = (now - attempt_began) * 1000.0
                    group.state = GroupState.CREATED
                    self._changed(group)
                    if self._on_created is not None:
                        self._on_created()
                    self._wake(group)
                    return
                for node_id in granted:   # all or nothing
                    self._release(node_id, group.group_id, [i for i, _ in per_node[node_id]])
                if group.state in _PLACING:
                    for index in missing:
                        group.nodes[index] = ""
                    await asyncio.sleep(_RETRY_SECONDS)
        finally:
            group.placing = False

    def _end(self, group: Group, state: GroupState, why: str) -> None:
        for node_id in {n for n in group.nodes if n}:
            self._release(node_id, group.group_id, None)
        group.state = state
        group.error = why
        self._changed(group)
        self._wake(group)

    @staticmethod
    def _wake(group: Group) -> None:
        waiters, group.waiters = group.waiters, []
        for future in waiters:
            if not future.done():
                future.set_result(True)

    def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
