"""The head service: who is in the cluster, where actors live, which names they hold.

Design
------
The head runs in the head node's process, on the same event loop, behind its own inbox (the
cluster address, ``tcp://HOST:6379`` by default). It is deliberately small and *off the call
path*: nodes report to it, drivers ask it once where to attach and where a named actor lives,
and callers then talk to workers directly.

* **Registry and failure detection.** Nodes register, then heartbeat every
  ``HEARTBEAT_SECONDS`` with their free resources, queue length and worker inboxes. A node not
  heard from for ``NODE_TIMEOUT_SECONDS`` is marked dead: every node is told (NODE_DIED), and
  every process learns that the dead node's workers are gone (WORKER_DIED) and that its actors
  died or are restarting (ACTOR_DIED), through its node (RELAY).
* **Actor directory and names.** Nodes report each placement (``actor_placed``) and death
  (``actor_dead``); restartable actors come with their creation message, so that the head can
  re-create them on a surviving node when theirs dies, within their ``max_restarts``.
* **Persistence.** Every change is written to sqlite (``store``); a restarted head reloads names
  and the directory; the nodes it knew count again once they heartbeat, and are declared dead
  (their actors restarted elsewhere) if they do not within the usual timeout.
* **Parts.** Placement groups (``cluster_groups``) and the cluster-wide state and logs
  (``cluster_state``) register their verbs in ``verbs``; they reach nodes with ``ask`` (an
  answer awaited) or ``tell_nodes``.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
import traceback
from collections.abc import Callable
from typing import Any

import msgpack
import zmq

from actorium._faults.injector import interpose as interpose_faults
from actorium._faults.injector import interpose_inbox
from actorium._head.cluster_groups import ClusterGroups
from actorium._head.cluster_state import ClusterObserver
from actorium._head.packages import HeadPackages
from actorium._head.store import HeadStore
from actorium._head.virtual_directory import HeadVirtual
from actorium._transport import serialization
from actorium._transport.auth import FrameAuth
from actorium._transport.channel import Inbox, Outbox
from actorium._transport.protocol import Kind, pack, unpack
from actorium._transport.requests import answer, settle
from actorium.exceptions import ActorDiedError

HEARTBEAT_SECONDS = 0.5
NODE_TIMEOUT_SECONDS = 3.0
_MAX_PENDING_KILLS = 10_000


class HeadService:
    """State and request handlers of the head (all on the head node's loop)."""

    def __init__(self, *, address: str, auth: FrameAuth, zmq_context: zmq.Context[Any],
                 session_dir: str) -> None:
        self.address = address
        self.loop = asyncio.get_running_loop()
        self.outbox = Outbox(zmq_context, address, self._deliver_locally, auth, self.loop)
        interpose_faults(self.outbox, "head")   # a no-op unless a test planned faults
        # Delayed and reordered messages wait here, at the receiver (off without a plan).
        self._receive = interpose_inbox(self._on_message, self.outbox)
        self.inbox = Inbox(zmq_context, address, self.loop, self._receive, auth)
        self.store = HeadStore(os.path.join(session_dir, "head.sqlite3"))
        self.nodes: dict[bytes, dict[str, Any]] = {}
        self.last_seen: dict[bytes, float] = {}
        self.actors: dict[bytes, dict[str, Any]] = {}
        self.specs: dict[bytes, bytes] = {}      # actor id -> packed [header, buffers]
        self.names: dict[tuple[str, str], bytes] = {}
        # Kills of actors not placed yet (their creation is on its way to a node).
        self.pending_kills: dict[bytes, bool] = {}
        # The head's own requests to nodes (reserving bundles, state), by request id.
        self._asked: dict[int, asyncio.Future[Any]] = {}
        self._ask_ids = itertools.count(1)
        self._replies: set[asyncio.Task[None]] = set()
        # Verbs answered by the head's parts below (name -> handler), beside its own _verb_*.
        self.verbs: dict[str, Callable[..., Any]] = {}
        self.placement = ClusterGroups(self)
        self.observer = ClusterObserver(self)
        self.packages = HeadPackages(self, session_dir)
        # Told of cluster events for the timeline: (kind, message, **fields). The head node
        # wires it to its own event log, so the dashboard shows nodes joining and dying.
        self.on_event: Callable[..., None] = lambda *_args, **_fields: None
        self._timer: asyncio.TimerHandle | None = None
        self._recover()
        self.placement.recover()
        self.virtual = HeadVirtual(self, recovering=bool(self.nodes))

    def _recover(self) -> None:
        nodes, actors, names = self.store.load()
        now = time.monotonic()
        for node_id, record in nodes.items():
            self.nodes[node_id] = record
            if record.get("alive"):
                # Not alive until it heartbeats again (nobody is sent to it meanwhile);
                # dead, with its actors, if it does not within the usual timeout.
                record["alive"] = False
                record["recovering"] = True
                self.last_seen[node_id] = now
        for actor_id, (record, spec) in actors.items():
            self.actors[actor_id] = record
            if spec is not None:
                self.specs[actor_id] = spec
        self.names = names

    def start(self) -> None:
        self.inbox.start()
        self._timer = self.loop.call_later(HEARTBEAT_SECONDS, self._check_nodes)
        self.virtual.start()

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self.placement.close()
        self.inbox.close()
        self.outbox.close()
        self.store.close()

    # ------------------------------------------------------------------ messaging
    def send(self, address: str, header: list[Any], buffers: Any = ()) -> None:
        frame = pack(header)
        self.outbox.send(address, (frame, *buffers) if buffers else (frame,))

    def _deliver_locally(self, frames: list[Any]) -> None:
        self.loop.call_soon(self._receive, frames)

    def _on_message(self, frames: list[Any]) -> None:
        try:
            header = unpack(frames[0])
            if header[0] == Kind.RESPONSE:
                self._on_response(header)
                return
            if header[0] != Kind.REQUEST:
                return
            _, request_id, reply_to, verb, args = header
            handler: Any = getattr(self, f"_verb_{verb}", None) or self.verbs[verb]
        except Exception:  # noqa: BLE001 - a malformed request is dropped
            return
        def run() -> Any:
            try:
                return handler(*args, buffers=frames[1:]) if verb == "actor_placed" \
                    else handler(*args)
            except Exception as exc:
                if not isinstance(exc, (ValueError, LookupError)):
                    traceback.print_exc()   # a bug in the head, not a bad question
                raise

        task = answer(self.send, reply_to, request_id, run, self.loop)
        if task is not None:
            self._replies.add(task)
            task.add_done_callback(self._replies.discard)

    def ask(self, address: str, verb: str, *args: Any, timeout: float = 10.0) -> Any:
        """Ask a node something; an awaitable of its answer (TimeoutError if none comes)."""
        request_id = next(self._ask_ids)
        future: asyncio.Future[Any] = self.loop.create_future()
        self._asked[request_id] = future
        self.send(address, [Kind.REQUEST, request_id, self.address, verb, list(args)])

        async def answer() -> Any:
            try:
                return await asyncio.wait_for(future, timeout)
            finally:
                self._asked.pop(request_id, None)
        return answer()

    def _on_response(self, header: list[Any]) -> None:
        settle(self._asked, header)

    def broadcast(self, header: list[Any], *, relay: bool) -> None:
        """Send to every live node; with ``relay`` each passes it on to all its processes."""
        message = [Kind.RELAY, header] if relay else header
        for node_id, record in self.nodes.items():
            if record.get("alive"):
                self.send(record["address"], message)
                del node_id

    # ------------------------------------------------------------------ nodes
    def view(self) -> list[dict[str, Any]]:
        return [{"node_id": node_id, "address": r["address"], "total": r["total"],
                 "available": r.get("available", r["total"]), "queued": r.get("queued", 0),
                 "alive": r.get("alive", False), "hostname": r.get("hostname", ""),
                 "ip": r.get("ip", "")}
                for node_id, r in self.nodes.items()]

    def _verb_register_node(self, node_id: bytes, address: str, total: dict[str, float],
                            hostname: str, ip: str) -> list[dict[str, Any]]:
        record = {"address": address, "total": total, "available": total, "queued": 0,
                  "alive": True, "hostname": hostname, "ip": ip, "workers": []}
        self.nodes[node_id] = record
        self.last_seen[node_id] = time.monotonic()
        self.store.save_node(node_id, record)
        self.observer.node_joined(address)
        self.on_event("node_joined", f"node {node_id.hex()[:12]} ({hostname}, {address}) joined",
                      node_id=node_id.hex())
        view = self.view()
        self.broadcast([Kind.CLUSTER_VIEW, view], relay=False)   # placement sees it at once
        return view

    def _verb_heartbeat(self, node_id: bytes, available: dict[str, float], queued: int,
                        workers: list[str], total: dict[str, float] | None = None
                        ) -> list[dict[str, Any]] | None:
        record = self.nodes.get(node_id)
        if record is None or not (record.get("alive") or record.get("recovering")):
            return None   # unknown (a new head) or declared dead: the node registers again
        if record.pop("recovering", False):
            record["alive"] = True   # known from before a restart of the head: back
            self.store.save_node(node_id, record)
            self.virtual.node_back(node_id, record["address"])
        if total is not None:   # bundles of placement groups come and go
            record["total"] = total
        record["available"] = available
        record["queued"] = queued
        record["workers"] = workers
        self.last_seen[node_id] = time.monotonic()
        return self.view()

    def _verb_unregister_node(self, node_id: bytes) -> bool:
        if node_id in self.nodes and self.nodes[node_id].get("alive"):
            self._node_died(node_id, "it left the cluster (actorium stop)")
        return True

    def _check_nodes(self) -> None:
        now = time.monotonic()
        for node_id, seen in list(self.last_seen.items()):
            record = self.nodes[node_id]
            if now - seen > NODE_TIMEOUT_SECONDS and (record.get("alive")
                                                      or record.get("recovering")):
                self._node_died(node_id, f"it sent no heartbeat for {NODE_TIMEOUT_SECONDS:g} s")
        self._timer = self.loop.call_later(HEARTBEAT_SECONDS, self._check_nodes)

    def _node_died(self, node_id: bytes, reason: str) -> None:
        record = self.nodes[node_id]
        record["alive"] = False
        record.pop("recovering", None)
        record["death_reason"] = reason
        self.last_seen.pop(node_id, None)
        self.store.save_node(node_id, record)
        self.placement.node_died(node_id.hex())
        self.virtual.node_died(node_id)
        label = f"node {node_id.hex()[:12]} ({record['address']})"
        self.on_event("node_dead", f"{label} died: {reason}", node_id=node_id.hex())
        self.broadcast([Kind.NODE_DIED, node_id, f"{label} died: {reason}"], relay=False)
        for worker_address in [*record.get("workers", []), record["address"]]:
            self.broadcast([Kind.WORKER_DIED, b"", worker_address,
                            f"was on {label}, which died: {reason}"], relay=True)
        for actor_id, actor in list(self.actors.items()):
            if actor.get("node_id") == node_id.hex() and actor["state"] != "DEAD":
                self._actor_lost(actor_id, actor, f"its {label} died: {reason}")

    # ------------------------------------------------------------------ actors
    def _verb_actor_placed(self, record: dict[str, Any], *, buffers: list[Any]) -> bool:
        actor_id: bytes = record["actor_id"]
        known = self.actors.get(actor_id, {})
        record = {**known, **{k: v for k, v in record.items() if k != "actor_id"},
                  "state": "ALIVE"}
        self.actors[actor_id] = record
        spec = None
        if "spec_header" in record:
            spec = msgpack.packb([record.pop("spec_header"), [bytes(b) for b in buffers]])
            self.specs[actor_id] = spec
        self.store.save_actor(actor_id, record, spec)
        if actor_id in self.pending_kills:
            self._verb_kill_actor(actor_id, self.pending_kills.pop(actor_id))
        if record.get("incarnation", 0) > 0:
            # A restarted actor: every holder of a handle learns its new address.
            self.broadcast([Kind.ACTOR_PLACED, actor_id, record["address"],
                            record["incarnation"]], relay=True)
        return True

    def _verb_actor_dead(self, actor_id: bytes, reason: str) -> bool:
        record = self.actors.get(actor_id)
        if record is not None:
            record["state"] = "DEAD"
            record["death_reason"] = reason
            self.store.save_actor(actor_id, record, None)
            key = (record.get("namespace", "default"), record.get("name") or "")
            if self.names.get(key) == actor_id:
                del self.names[key]
                self.store.save_name(*key, None)
        return True

    def _verb_kill_actor(self, actor_id: bytes, no_restart: bool) -> bool:
        """Pass ``actorium.kill()`` on to the node hosting the actor (callers may not know it)."""
        entry = self.virtual.directory.entries.get(actor_id)
        if entry is not None:
            node_record = self.nodes.get(bytes.fromhex(entry.node))
            if node_record is not None and node_record.get("alive"):
                self.send(node_record["address"], [Kind.REQUEST, 0, self.address, "virtual_drop",
                                                   [actor_id, entry.epoch]])
            return True
        record = self.actors.get(actor_id)
        node = self.nodes.get(bytes.fromhex(record["node_id"])) \
            if record is not None and record.get("node_id") else None
        if record is None or node is None:
            if len(self.pending_kills) >= _MAX_PENDING_KILLS:   # kills of ids never placed
                self.pending_kills.pop(next(iter(self.pending_kills)))
            self.pending_kills[actor_id] = no_restart
            return True
        if record.get("state") != "DEAD" and node.get("alive"):
            self.send(node["address"], [Kind.REQUEST, 0, self.address, "kill_actor",
                                        [actor_id, no_restart, True]])
        return True

    def _verb_relay(self, origin: str, packed: bytes) -> bool:
        """Pass a node's message (an actor died or is restarting) on to every other node."""
        header = unpack(packed)
        if header[0] == Kind.ACTOR_DIED and not header[3]:
            self._verb_actor_dead(header[1], header[2])
        for node_id, record in self.nodes.items():
            if record.get("alive") and node_id.hex() != origin:
                self.send(record["address"], [Kind.RELAY, header])
        return True

    def _verb_reserve_name(self, name: str, namespace: str, actor_id: bytes) -> bytes:
        """Claim a cluster-wide name; returns the id of the actor that holds it."""
        key = (namespace, name)
        holder = self.names.get(key)
        if holder is not None and self.actors.get(holder, {}).get("state") != "DEAD":
            return holder
        self.names[key] = actor_id
        self.actors.setdefault(actor_id, {"state": "PENDING_CREATION", "name": name,
                                          "namespace": namespace})
        self.store.save_name(namespace, name, actor_id)
        return actor_id

    def _verb_lookup_actor(self, name: str, namespace: str) -> dict[str, Any]:
        actor_id = self.names.get((namespace, name))
        record = self.actors.get(actor_id) if actor_id else None
        if record is None or record.get("state") == "DEAD" or "class_name" not in record:
            raise ValueError(f"no actor named {name!r} in namespace {namespace!r}")
        return {"actor_id": actor_id, "class_name": record["class_name"],
                "methods": record.get("methods", {}), "is_async": record.get("is_async", False),
                "address": record.get("address"), "incarnation": record.get("incarnation", 0),
                "dead": None}

    def _actor_lost(self, actor_id: bytes, record: dict[str, Any], reason: str) -> None:
        limit = record.get("max_restarts", 0)
        restarts = record.get("restarts", 0)
        spec = self.specs.get(actor_id)
        target = self._pick_node(record)
        if spec is not None and (limit == -1 or restarts < limit) and target is not None:
            record["state"] = "RESTARTING"
            record["restarts"] = restarts + 1
            record["incarnation"] = record.get("incarnation", 0) + 1
            self.store.save_actor(actor_id, record, None)
            self.broadcast([Kind.ACTOR_DIED, actor_id,
                            f"actor {record.get('class_name')}({actor_id.hex()}) is restarting: "
                            f"{reason}", True, None], relay=True)
            header, buffers = msgpack.unpackb(spec, raw=False)
            header[13] = record["incarnation"]
            header[10] = {**header[10], "_restarts": record["restarts"], "strategy": None}
            self.send(target, header, buffers)
            return
        used = f"; {restarts}/{limit} restarts used" if limit else ""
        message = f"actor {record.get('class_name')}({actor_id.hex()}) died: {reason}{used}"
        self._verb_actor_dead(actor_id, reason + used)
        error = serialization.dumps(ActorDiedError(message, actor_id=actor_id.hex()))[1]
        self.broadcast([Kind.ACTOR_DIED, actor_id, reason + used, False, error], relay=True)

    def _pick_node(self, record: dict[str, Any]) -> str | None:
        demand = record.get("demand", {})
        best: tuple[float, str] | None = None
        for node in self.nodes.values():
            if not node.get("alive"):
                continue
            if any(node["total"].get(k, 0.0) < v for k, v in demand.items()):
                continue
            free = node.get("available", {}).get("CPU", 0.0)
            if best is None or free > best[0]:
                best = (free, node["address"])
        return None if best is None else best[1]

    def _verb_owner_gone(self, owner: str, reason: str) -> bool:
        """A driver left the cluster: every node reaps what it owned there (fate sharing)."""
        self.tell_nodes("reap_owner", owner, reason)
        return True

    def tell_nodes(self, verb: str, *args: Any) -> None:
        """Ask every live node something, without waiting for answers."""
        for record in self.nodes.values():
            if record.get("alive"):
                self.send(record["address"], [Kind.REQUEST, 0, self.address, verb, list(args)])

    # ------------------------------------------------------------------ queries
    def _verb_nodes(self) -> list[dict[str, Any]]:
        return [{"NodeID": node_id.hex(), "Alive": bool(r.get("alive")),
                 "alive": bool(r.get("alive")), "NodeManagerAddress": r.get("ip", ""),
                 "NodeManagerHostname": r.get("hostname", ""), "Resources": r["total"],
                 "Available": r.get("available", {}), "address": r["address"],
                 "death_reason": r.get("death_reason", "")}
                for node_id, r in self.nodes.items()]

    def _verb_view(self) -> list[dict[str, Any]]:
        return self.view()

    def _verb_cluster_resources(self) -> dict[str, float]:
        return _sum(r["total"] for r in self.nodes.values() if r.get("alive"))

    def _verb_available_resources(self) -> dict[str, float]:
        total = _sum(r.get("available", {}) for r in self.nodes.values() if r.get("alive"))
        return {k: v for k, v in total.items() if v > 0}

    def _verb_list_actors(self) -> list[dict[str, Any]]:
        return [{"actor_id": actor_id.hex(), "class_name": r.get("class_name", ""),
                 "state": r.get("state", ""), "name": r.get("name") or "",
                 "namespace": r.get("namespace", "default"), "node_id": r.get("node_id", ""),
                 "restarts": r.get("restarts", 0), "death_reason": r.get("death_reason", "")}
                for actor_id, r in self.actors.items() if "class_name" in r]


def _sum(pools: Any) -> dict[str, float]:
    total: dict[str, float] = {}
    for pool in pools:
        for name, amount in pool.items():
            total[name] = total.get(name, 0.0) + amount
    return total
