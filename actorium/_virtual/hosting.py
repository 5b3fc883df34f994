"""The node side of virtual actors: placing activations in host workers and keeping count.

A node places an activation in one of its actor host workers (the least loaded, exactly as
lightweight actors are placed), sends it ACTIVATE and answers once the worker says it is
ready (state loaded, ``on_activate`` done). It remembers which activation lives in which
worker, so that when a worker dies the directory hears at once that those keys are free.

Alone (an embedded runtime) the node also holds the directory and runs the reminder service;
in a cluster both live in the head, and the node passes its callers' questions on to it.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from actorium._transport import serialization
from actorium._transport.protocol import Kind
from actorium._virtual.directory import ActivationDirectory
from actorium._virtual.reminders import ReminderService
from actorium._virtual.stores import STORE_ENV, StateStore, default_url, open_store
from actorium.exceptions import ActivationError

READY_TIMEOUT_SECONDS = 60.0


class WorkerInfo(Protocol):
    """A host worker as the node describes it (``_node.workers.WorkerInfo``)."""

    address: str | None
    actors: set[bytes]
    code_ids: set[bytes]


class NodeSide(Protocol):
    """The few things hosting needs from its node."""

    node_id: bytes
    code: dict[bytes, bytes]
    cluster: Any
    verbs: dict[str, Any]

    def send_to_worker(self, worker: Any, header: list[Any], buffers: list[Any]) -> None: ...

    def send(self, address: str, header: list[Any]) -> None: ...


class Hosted:
    __slots__ = ("worker", "type_name", "key", "epoch")

    def __init__(self, worker: WorkerInfo, type_name: str, key: str, epoch: int) -> None:
        self.worker = worker
        self.type_name = type_name
        self.key = key
        self.epoch = epoch


class VirtualHosting:
    """Activations on this node; see the module docstring."""

    def __init__(self, node: NodeSide, pick_host: Any, loop: asyncio.AbstractEventLoop) -> None:
        self.node = node
        self.pick_host = pick_host
        self.loop = loop
        self.url = default_url()
        self.active: dict[bytes, Hosted] = {}
        self.pending: dict[bytes, tuple[asyncio.Future[int], WorkerInfo, str, str]] = {}
        self.registered: set[bytes] = set()
        self.activations_total = 0
        self.passivations_total = 0
        self._store: StateStore | None = None
        self.directory: ActivationDirectory | None = None
        self.reminders: ReminderService | None = None
        for verb in ("activate", "ready", "passivated", "resumed", "place", "list", "summary",
                     "reminders", "cancel_reminder", "drop", "local"):
            node.verbs[f"virtual_{verb}"] = getattr(self, f"verb_{verb}")

    @property
    def store(self) -> StateStore:
        if self._store is None:
            self._store = open_store(self.url)
        return self._store

    def start(self) -> None:
        """Standalone: run the reminder service if a store is configured or already exists."""
        if self.node.cluster is None and _store_in_use(self.url):
            self._standalone()

    def _standalone(self) -> ActivationDirectory:
        if self.directory is None:
            own = self.node.node_id.hex()
            self.directory = ActivationDirectory(self.loop, self._place_here,
                                                 lambda _request, _origin: own)
            self.reminders = ReminderService(self.store, self.directory.activate, self._send)
            self.reminders.start()
        return self.directory

    def _send(self, address: str, header: list[Any]) -> None:
        self.node.send(address, header)

    async def close(self) -> None:
        if self.reminders is not None:
            await self.reminders.close()
        if self._store is not None:
            await self._store.close()

    # ------------------------------------------------------------------ from callers
    async def verb_activate(self, request: dict[str, Any], after: int | None) -> dict[str, Any]:
        code = request.get("code")
        code_id: bytes = request["code_id"]
        if code is not None:
            self.node.code.setdefault(code_id, code)
            if code_id not in self.registered:
                await self.store.register_code(request["type_name"], code_id, code)
                self.registered.add(code_id)
        cluster = self.node.cluster
        if cluster is None:
            return await self._standalone().activate(request, after)
        forwarded = {**request, "code": None}
        described: dict[str, Any] = await cluster.request(
            "virtual_activate", forwarded, after, self.node.node_id.hex())
        return described

    # ------------------------------------------------------------------ placing here
    async def verb_place(self, request: dict[str, Any]) -> list[Any]:
        """The head chose this node for a new activation: [address, epoch] once ready."""
        address, epoch = await self._place_here(self.node.node_id.hex(), request)
        return [address, epoch]

    async def _place_here(self, _node: str, request: dict[str, Any]) -> tuple[str, int]:
        actor_id: bytes = request["actor_id"]
        code_id: bytes = request["code_id"]
        worker = self.pick_host()
        code = None
        if code_id not in worker.code_ids:
            code = request.get("code") or self.node.code.get(code_id)
            if code is not None:
                worker.code_ids.add(code_id)
        future: asyncio.Future[int] = self.loop.create_future()
        self.pending[actor_id] = (future, worker, request["type_name"], request["key"])
        worker.actors.add(actor_id)
        self.node.send_to_worker(worker, [Kind.ACTIVATE, actor_id, request["type_name"],
                                          request["key"], code_id, code, self.url], [])
        try:
            epoch = await asyncio.wait_for(asyncio.shield(future), READY_TIMEOUT_SECONDS)
        except BaseException:
            worker.actors.discard(actor_id)
            raise
        finally:
            if self.pending.get(actor_id, (None,))[0] is future:
                del self.pending[actor_id]
        self.active[actor_id] = Hosted(worker, request["type_name"], request["key"], epoch)
        self.activations_total += 1
        assert worker.address is not None
        return worker.address, epoch

    def verb_ready(self, actor_id: bytes, epoch: int, ok: bool, error: bytes | None) -> bool:
        pending = self.pending.get(actor_id)
        if pending is None or pending[0].done():
            return True
        if ok:
            pending[0].set_result(epoch)
        else:
            failure = serialization.loads(serialization.PICKLE, error) if error else \
                ActivationError("the activation failed")
            pending[0].set_exception(failure)
        return True

    def verb_passivated(self, actor_id: bytes, epoch: int) -> bool:
        hosted = self.active.get(actor_id)
        if hosted is not None and hosted.epoch == epoch:
            del self.active[actor_id]
            hosted.worker.actors.discard(actor_id)
            self.passivations_total += 1
        self._tell_directory("removed", actor_id, epoch)
        return True

    def verb_resumed(self, actor_id: bytes, epoch: int) -> bool:
        self._tell_directory("resumed", actor_id, epoch)
        return True

    def _tell_directory(self, what: str, actor_id: bytes, epoch: int) -> None:
        if self.node.cluster is not None:
            self.node.cluster.request(f"virtual_{what}", actor_id, epoch)
        elif self.directory is not None:
            getattr(self.directory, what)(actor_id, epoch)

    def verb_drop(self, actor_id: bytes, epoch: int | None, save: bool = False) -> bool:
        """End an activation here now (``kill()``, or a newer activation won its key)."""
        hosted = self.active.get(actor_id)
        if hosted is None or (epoch is not None and hosted.epoch != epoch):
            return False
        self.node.send_to_worker(hosted.worker, [Kind.DEACTIVATE, actor_id, hosted.epoch, save],
                                 [])
        return True

    def worker_died(self, worker: WorkerInfo, reason: str) -> None:
        for future, placed_in, type_name, key in list(self.pending.values()):
            if placed_in is worker and not future.done():
                future.set_exception(ActivationError(
                    f"virtual actor {type_name}({key!r}) could not be activated: its worker "
                    f"{reason}"))
        for actor_id, hosted in list(self.active.items()):
            if hosted.worker is worker:
                del self.active[actor_id]
                self._tell_directory("removed", actor_id, hosted.epoch)

    # ------------------------------------------------------------------ queries
    def verb_list(self) -> list[list[Any]]:
        """The activations here: [actor_id, type, key, epoch, worker address]."""
        return [[actor_id, h.type_name, h.key, h.epoch, h.worker.address]
                for actor_id, h in self.active.items() if h.worker.address]

    def verb_local(self) -> dict[str, Any]:
        """This node's activations by type and its totals (the head sums every node's)."""
        return self.local_summary()

    def local_summary(self) -> dict[str, Any]:
        by_type: dict[str, int] = {}
        for hosted in self.active.values():
            by_type[hosted.type_name] = by_type.get(hosted.type_name, 0) + 1
        return {"node_id": self.node.node_id.hex(), "active": by_type,
                "activations_total": self.activations_total,
                "passivations_total": self.passivations_total}

    async def verb_summary(self) -> dict[str, Any]:
        """Types, active and passivated counts, activations per node (cluster-wide)."""
        if self.node.cluster is not None:
            answer: dict[str, Any] = await self.node.cluster.request("virtual_summary")
            return answer
        mine = self.local_summary()
        saved = await self.store.counts() if _store_in_use(self.url) else {}
        return summarize([mine], saved, self.url)

    async def verb_reminders(self, type_name: str | None, key: str | None,
                             limit: int) -> list[dict[str, Any]]:
        if self.node.cluster is not None:
            answer: list[dict[str, Any]] = await self.node.cluster.request(
                "virtual_reminders", type_name, key, limit)
            return answer
        if not _store_in_use(self.url):
            return []
        return [_row(r) for r in await self.store.reminders(type_name, key, limit)]

    async def verb_cancel_reminder(self, type_name: str, key: str, name: str) -> bool:
        if self.node.cluster is not None:
            answer: bool = await self.node.cluster.request("virtual_cancel_reminder",
                                                           type_name, key, name)
            return answer
        return await self.store.cancel_reminder(type_name, key, name)


def _row(reminder: Any) -> dict[str, Any]:
    return {"type_name": reminder.type_name, "key": reminder.key, "name": reminder.name,
            "due": reminder.due, "period": reminder.period}


def summarize(nodes: list[dict[str, Any]], saved: dict[str, int], url: str) -> dict[str, Any]:
    """One view of every node's activations and the store's counts of saved keys."""
    types: dict[str, dict[str, Any]] = {}
    per_node = {}
    for node in nodes:
        per_node[node["node_id"]] = sum(node["active"].values())
        for type_name, count in node["active"].items():
            row = types.setdefault(type_name, {"type_name": type_name, "active": 0,
                                               "saved": 0, "per_node": {}})
            row["active"] += count
            row["per_node"][node["node_id"]] = count
    for type_name, count in saved.items():
        row = types.setdefault(type_name, {"type_name": type_name, "active": 0, "saved": 0,
                                           "per_node": {}})
        row["saved"] = count
    for row in types.values():
        row["passivated"] = max(row["saved"] - row["active"], 0)
    return {"types": sorted(types.values(), key=lambda r: r["type_name"]),
            "per_node": per_node, "store": _safe_url(url),
            "activations_total": sum(n.get("activations_total", 0) for n in nodes),
            "passivations_total": sum(n.get("passivations_total", 0) for n in nodes)}


def _safe_url(url: str) -> str:
    from actorium._virtual.stores.postgres import _safe
    return _safe(url)


def _store_in_use(url: str) -> bool:
    """A store named in the environment, or a sqlite file that already exists."""
    import os
    if os.environ.get(STORE_ENV):
        return True
    return url.startswith("sqlite:///") and os.path.exists(
        os.path.abspath(url.removeprefix("sqlite:///")))
