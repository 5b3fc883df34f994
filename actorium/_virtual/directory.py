"""The activation directory: which activation of each key exists, and where.

One directory serves a runtime: the node's for a single-node runtime, the head's for a cluster.
It is the only place that decides to activate a key, and it decides for one key at a time: a
second request for a key that is being activated waits for that activation instead of making
another, so many callers on many nodes calling a new key at once get one activation.

* **Placement** (``choose``): the caller of ``ActivationDirectory`` says which node gets a new
  activation (the head: the node with the fewest activations per CPU; a node: itself).
* **Ended activations.** A caller whose call was refused by an activation that is passivating
  asks again *after* that epoch; it waits here until the activation is gone (its state saved)
  and then gets the next one, so no two activations of a key ever run at once because of a
  passivation.
* **Soft state.** Entries live in memory only: the truth of what runs is the nodes (each knows
  its activations, and a restarted head asks them before it activates anything) and the fence
  in the state store (every activation claims a higher epoch; a stale one cannot write).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from actorium.exceptions import ActivationError

# How long a caller waits for an activation to finish passivating before giving up.
PASSIVATION_WAIT_SECONDS = 60.0

Place = Callable[[str, dict[str, Any]], Awaitable[tuple[str, int]]]
Choose = Callable[[dict[str, Any], "str | None"], str]


class Entry:
    """One key's activation: where it is (or will be) and what waits on it."""

    __slots__ = ("actor_id", "type_name", "key", "node", "address", "epoch", "ready", "gone")

    def __init__(self, request: dict[str, Any], node: str,
                 loop: asyncio.AbstractEventLoop) -> None:
        self.actor_id: bytes = request["actor_id"]
        self.type_name: str = request["type_name"]
        self.key: str = request["key"]
        self.node = node
        self.address = ""
        self.epoch = 0
        self.ready: asyncio.Future[None] | None = loop.create_future()
        self.gone: asyncio.Future[str] = loop.create_future()

    def describe(self) -> dict[str, Any]:
        return {"address": self.address, "incarnation": self.epoch, "node_id": self.node}


class ActivationDirectory:
    """Entries by actor id; see the module docstring."""

    def __init__(self, loop: asyncio.AbstractEventLoop, place: Place, choose: Choose) -> None:
        self.loop = loop
        self.place = place
        self.choose = choose
        self.entries: dict[bytes, Entry] = {}
        self.per_node: dict[str, int] = {}
        # Resolved while activations may go ahead (a restarted head clears it until every node
        # it knew has reported its activations or been declared dead).
        self.open = asyncio.Event()
        self.open.set()

    async def activate(self, request: dict[str, Any], after: int | None = None,
                       origin: str | None = None) -> dict[str, Any]:
        """The key's activation (made if there is none), not one of epoch ``after`` or older."""
        if not self.open.is_set():
            await self.open.wait()
        actor_id = request["actor_id"]
        deadline = self.loop.time() + PASSIVATION_WAIT_SECONDS
        while True:
            entry = self.entries.get(actor_id)
            if entry is None:
                return await self._new(request, origin)
            if entry.ready is not None:
                await asyncio.shield(entry.ready)   # its activation's error, if it failed
                continue
            if after is None or entry.epoch > after:
                return entry.describe()
            left = deadline - self.loop.time()
            try:
                outcome = await asyncio.wait_for(asyncio.shield(entry.gone), max(left, 0.0))
            except TimeoutError:
                raise ActivationError(
                    f"virtual actor {entry.type_name}({entry.key!r}): activation {entry.epoch} "
                    f"did not finish passivating within {PASSIVATION_WAIT_SECONDS:g} s") from None
            if outcome == "resumed":
                return entry.describe()

    async def _new(self, request: dict[str, Any], origin: str | None) -> dict[str, Any]:
        node = self.choose(request, origin)
        entry = Entry(request, node, self.loop)
        self.entries[entry.actor_id] = entry
        self.per_node[node] = self.per_node.get(node, 0) + 1
        ready = entry.ready
        assert ready is not None
        try:
            entry.address, entry.epoch = await self.place(node, request)
        except BaseException as exc:
            self._drop(entry)
            ready.set_exception(exc if isinstance(exc, Exception) else ActivationError(str(exc)))
            ready.exception()   # retrieved: nobody else may be waiting
            raise
        entry.ready = None
        ready.set_result(None)
        return entry.describe()

    def _drop(self, entry: Entry) -> None:
        if self.entries.get(entry.actor_id) is entry:
            del self.entries[entry.actor_id]
            left = self.per_node.get(entry.node, 1) - 1
            if left > 0:
                self.per_node[entry.node] = left
            else:
                self.per_node.pop(entry.node, None)
        if not entry.gone.done():
            entry.gone.set_result("gone")

    # ------------------------------------------------------------------ reports
    def removed(self, actor_id: bytes, epoch: int) -> None:
        """The activation of ``epoch`` is over (passivated, or its worker died)."""
        entry = self.entries.get(actor_id)
        if entry is not None and entry.ready is None and entry.epoch == epoch:
            self._drop(entry)

    def resumed(self, actor_id: bytes, epoch: int) -> None:
        """The activation of ``epoch`` could not save its state and takes calls again."""
        entry = self.entries.get(actor_id)
        if entry is not None and entry.ready is None and entry.epoch == epoch:
            gone, entry.gone = entry.gone, self.loop.create_future()
            gone.set_result("resumed")

    def node_lost(self, node: str) -> int:
        """Every activation on ``node`` is gone; returns how many."""
        lost = [e for e in self.entries.values() if e.node == node and e.ready is None]
        for entry in lost:
            self._drop(entry)
        return len(lost)

    def adopt(self, node: str, rows: list[list[Any]]) -> list[list[Any]]:
        """A node reports the activations it hosts, ``[actor_id, type, key, epoch, address]``
        (after a head restart): keep those no newer activation replaced; returns the rows the
        node must drop (another activation of the key won)."""
        conflicts = []
        for actor_id, type_name, key, epoch, address in rows:
            known = self.entries.get(actor_id)
            if known is not None and (known.ready is not None or known.epoch >= epoch):
                if known.node != node or known.epoch != epoch:
                    conflicts.append([actor_id, type_name, key, epoch, address])
                continue
            if known is not None:
                self._drop(known)
            entry = Entry({"actor_id": actor_id, "type_name": type_name, "key": key}, node,
                          self.loop)
            entry.ready = None
            entry.address, entry.epoch = address, epoch
            self.entries[actor_id] = entry
            self.per_node[node] = self.per_node.get(node, 0) + 1
        return conflicts

    def summary(self) -> dict[str, Any]:
        by_type: dict[str, int] = {}
        for entry in self.entries.values():
            by_type[entry.type_name] = by_type.get(entry.type_name, 0) + 1
        return {"active": by_type, "per_node": dict(self.per_node)}
