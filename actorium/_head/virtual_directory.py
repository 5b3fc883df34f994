"""The cluster's activation directory of virtual actors, in the head.

Callers ask their node, nodes ask the head (``virtual_activate``): the head's
``ActivationDirectory`` makes sure a key has one activation, placed on the live node with the
fewest activations per CPU (the asking node on a tie), which it asks to activate the key
(``virtual_place``). Nodes report the end of activations (passivated, worker lost); a dead
node's activations are dropped at once, so the next call activates them elsewhere.

A restarted head knows no activation. Before it lets any activation go ahead it asks every node
it knew (as they heartbeat again) which activations they host and adopts them; a node that does
not come back within the usual timeout is declared dead. Two nodes claiming one key (a node cut
off, its keys activated elsewhere, then back) keep only the newer epoch: the other is told to
drop its activation, and the state store's fence had already refused its writes.

The head also runs the reminder service of the cluster.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from actorium._transport.protocol import Kind
from actorium._virtual.directory import ActivationDirectory
from actorium._virtual.hosting import _row, _store_in_use, summarize
from actorium._virtual.reminders import ReminderService
from actorium._virtual.stores import StateStore, default_url, open_store
from actorium.exceptions import ActivationError

if TYPE_CHECKING:
    from actorium._head.service import HeadService

_PLACE_TIMEOUT = 90.0


class HeadVirtual:
    """The head's part for virtual actors (verbs ``virtual_*``)."""

    def __init__(self, head: HeadService, recovering: bool) -> None:
        self.head = head
        self.url = default_url()
        self.directory = ActivationDirectory(head.loop, self._place, self._choose)
        self._store: StateStore | None = None
        self.reminders: ReminderService | None = None
        # Nodes whose activations a restarted head has not heard yet.
        self.unreported: set[bytes] = set()
        if recovering:
            self.unreported = {node_id for node_id, r in head.nodes.items()
                               if r.get("recovering")}
        if self.unreported:
            self.directory.open.clear()
        for verb in ("activate", "removed", "resumed", "summary", "reminders",
                     "cancel_reminder"):
            head.verbs[f"virtual_{verb}"] = getattr(self, f"verb_{verb}")
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def store(self) -> StateStore:
        if self._store is None:
            self._store = open_store(self.url)
        return self._store

    def start(self) -> None:
        if _store_in_use(self.url):
            self._start_reminders()

    def _start_reminders(self) -> None:
        if self.reminders is None:
            self.reminders = ReminderService(self.store, self.directory.activate, self.head.send)
            self.reminders.start()

    async def close(self) -> None:
        if self.reminders is not None:
            await self.reminders.close()
        if self._store is not None:
            await self._store.close()

    # ------------------------------------------------------------------ placement
    def _choose(self, _request: dict[str, Any], origin: str | None) -> str:
        best: tuple[float, int, str] | None = None
        for node_id, record in self.head.nodes.items():
            if not record.get("alive"):
                continue
            hex_id = node_id.hex()
            cpus = max(float(record.get("total", {}).get("CPU", 1.0)), 1.0)
            load = self.directory.per_node.get(hex_id, 0) / cpus
            rank = (load, 0 if hex_id == origin else 1, hex_id)
            if best is None or rank < best:
                best = rank
        if best is None:
            raise ActivationError("no live node can host a virtual actor")
        return best[2]

    async def _place(self, node: str, request: dict[str, Any]) -> tuple[str, int]:
        record = self.head.nodes.get(bytes.fromhex(node))
        if record is None or not record.get("alive"):
            raise ActivationError(f"node {node[:12]} is not alive")
        address, epoch = await self.head.ask(record["address"], "virtual_place", request,
                                             timeout=_PLACE_TIMEOUT)
        return str(address), int(epoch)

    # ------------------------------------------------------------------ verbs from nodes
    async def verb_activate(self, request: dict[str, Any], after: int | None,
                            origin: str | None = None) -> dict[str, Any]:
        self._start_reminders()
        return await self.directory.activate(request, after, origin)

    def verb_removed(self, actor_id: bytes, epoch: int) -> bool:
        self.directory.removed(actor_id, epoch)
        return True

    def verb_resumed(self, actor_id: bytes, epoch: int) -> bool:
        self.directory.resumed(actor_id, epoch)
        return True

    async def verb_summary(self) -> dict[str, Any]:
        """Every live node's activations (a node that does not answer within 5 s is left
        out) and the store's counts of saved keys."""
        asked = [self.head.ask(r["address"], "virtual_local", timeout=5.0)
                 for r in self.head.nodes.values() if r.get("alive")]
        answers = await asyncio.gather(*asked, return_exceptions=True)
        nodes = [a for a in answers if isinstance(a, dict)]
        saved = await self.store.counts() if _store_in_use(self.url) else {}
        return summarize(nodes, saved, self.url)

    async def verb_reminders(self, type_name: str | None, key: str | None,
                             limit: int) -> list[dict[str, Any]]:
        if not _store_in_use(self.url):
            return []
        return [_row(r) for r in await self.store.reminders(type_name, key, limit)]

    async def verb_cancel_reminder(self, type_name: str, key: str, name: str) -> bool:
        return await self.store.cancel_reminder(type_name, key, name)

    # ------------------------------------------------------------------ node events
    def node_died(self, node_id: bytes) -> None:
        self.directory.node_lost(node_id.hex())
        self._reported(node_id)

    def node_back(self, node_id: bytes, address: str) -> None:
        """A node known before this head restarted heartbeats again: adopt its activations."""
        if node_id not in self.unreported:
            return
        task = self.head.loop.create_task(self._adopt(node_id, address))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _adopt(self, node_id: bytes, address: str) -> None:
        try:
            rows = await self.head.ask(address, "virtual_list", timeout=30.0)
        except Exception:  # noqa: BLE001 - it will be declared dead if it is gone
            return
        for row in self.directory.adopt(node_id.hex(), rows):
            self.head.send(address, [Kind.REQUEST, 0, self.head.address, "virtual_drop",
                                     [row[0], row[3]]])
        self._reported(node_id)

    def _reported(self, node_id: bytes) -> None:
        self.unreported.discard(node_id)
        if not self.unreported:
            self.directory.open.set()
