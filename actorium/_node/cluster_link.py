"""A node's membership in a cluster: registration, heartbeats, and placing work on other nodes.

A node started with a head address owns one ``ClusterLink``. It registers with the head, then
heartbeats (free resources, queue length, worker inboxes) and receives in return the head's view
of every node. From that view it decides, per task and per actor, whether to run it here or to
forward its frames (unchanged, never unpickled) to another node:

* ``"SPREAD"``: round-robin over the live nodes that could ever run it;
* node affinity (``{"node_id": hex, "soft": bool}``): that node, else here if soft, else an error;
* ``"DEFAULT"``: here, unless this node can never run it or is saturated while another node
  reports free resources (each remote node gets at most its free CPUs per view refresh).

A forwarded task is remembered until the node that ran it says it finished, so that if that node
dies the task is retried (within ``max_retries``) or fails with ``WorkerCrashedError``: a caller
never waits forever on a dead node. Its result can still be lost after that: it travels from
the worker straight to the owner, and may die with the worker (or its whole node) after the
worker told its node the task was done. So the last few finished forwarded tasks with retries
are kept per node that ran them; an owner that never got such a result says so
(``lost_results``, to its own node, which is this one: tasks are submitted to the submitter's
node), and the task is placed again. When the node that ran them dies, their owners are told
which of their tasks it finished lately, as for a dead worker.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import os
import socket
from collections import deque
from typing import TYPE_CHECKING, Any

from actorium._head.service import HEARTBEAT_SECONDS
from actorium._transport.protocol import Kind, pack
from actorium._transport.requests import settle

if TYPE_CHECKING:
    from actorium._node.actor_manager import ActorInfo
    from actorium._node.node import Node
    from actorium._node.task_scheduler import QueuedTask

# Finished forwarded tasks (with retries) kept per node that ran them, and how long those of a
# dead node wait for their owners' answer.
_RECENT_FORWARDED = 64
_UNCONFIRMED_SECONDS = 60.0


class ClusterLink:
    """This node's view of the cluster and its conversation with the head."""

    def __init__(self, node: Node, head_address: str) -> None:
        self.node = node
        self.head_address = head_address
        self.node_id_hex = node.node_id.hex()
        self.view: dict[str, dict[str, Any]] = {}
        self.credit: dict[str, float] = {}   # node id -> tasks sent since the last view
        self.forwarded: dict[bytes, tuple[str, QueuedTask]] = {}
        # node id -> forwarded tasks it finished lately (results may yet be lost); task id ->
        # such a task of a dead node, until its owner answers.
        self.finished_elsewhere: dict[str, deque[QueuedTask]] = {}
        self._of_dead_nodes: dict[bytes, QueuedTask] = {}
        self._spread = itertools.count()
        self._requests: dict[int, concurrent.futures.Future[Any]] = {}
        self._request_ids = itertools.count(1)
        self._task: asyncio.Task[None] | None = None
        self.registered = asyncio.Event()
        node._handlers[Kind.RESPONSE] = self._on_response
        node._handlers[Kind.NODE_DIED] = self._on_node_died
        node._handlers[Kind.RELAY] = self._on_relay
        node._handlers[Kind.CLUSTER_VIEW] = lambda header, _buffers: self._apply_view(header[1])
        node.cluster = self

    # ------------------------------------------------------------------ head conversation
    def request(self, verb: str, *args: Any, buffers: Any = ()) -> asyncio.Future[Any]:
        """Ask the head; the answer arrives on the node's loop."""
        request_id = next(self._request_ids)
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self._requests[request_id] = future
        self.node.send(self.head_address, [Kind.REQUEST, request_id, self.node.address, verb,
                                           list(args)], buffers)
        return asyncio.wrap_future(future)

    def _on_response(self, header: list[Any], _buffers: list[Any]) -> None:
        settle(self._requests, header)

    def start(self) -> None:
        self._task = self.node.loop.create_task(self._keep_in_touch())

    async def _keep_in_touch(self) -> None:
        node = self.node
        host = node.bind_host or "127.0.0.1"
        while not node.stopping:
            try:
                if not self.registered.is_set():
                    view = await asyncio.wait_for(self.request(
                        "register_node", node.node_id, node.address, node.resources.total,
                        socket.gethostname(), host), HEARTBEAT_SECONDS * 4)
                    self.registered.set()
                else:
                    workers = [w.address for w in node.workers.values() if w.address]
                    available = {k: v for k, v in node.resources.available.items()}
                    view = await asyncio.wait_for(self.request(
                        "heartbeat", node.node_id, available, len(node.tasks.queue), workers,
                        dict(node.resources.total)), HEARTBEAT_SECONDS * 4)
                    if view is None:   # a restarted head, or it thought we were dead
                        self.registered.clear()
                        continue
                self._apply_view(view)
            except TimeoutError:
                pass   # the head is down: keep serving, keep trying
            await asyncio.sleep(HEARTBEAT_SECONDS)

    def _apply_view(self, view: list[dict[str, Any]]) -> None:
        self.view = {n["node_id"].hex(): n for n in view if n["alive"]}
        self.credit = {}   # work sent to each node since this view
        self.node.tasks.schedule_soon()

    def leave(self) -> None:
        """Tell the head we are going (best effort, at shutdown)."""
        if self._task is not None:
            self._task.cancel()
        self.request("unregister_node", self.node.node_id)

    # ------------------------------------------------------------------ events from the head
    def _on_relay(self, header: list[Any], _buffers: list[Any]) -> None:
        message = header[1]
        for address in self.node.everyone():
            self.node.send(address, message)

    def _on_node_died(self, header: list[Any], _buffers: list[Any]) -> None:
        node_id: bytes = header[1]
        address = self.view.pop(node_id.hex(), {}).get("address", "")
        self.credit.pop(node_id.hex(), None)
        for task_id, (target, task) in list(self.forwarded.items()):
            if target == node_id.hex():
                del self.forwarded[task_id]
                self.node.tasks.forwarded_task_lost(task, header[2])
        # Its finished tasks whose results were still on their way died with it: each owner
        # is asked which it never got (it answers with ``lost_results``), as for a worker.
        by_owner: dict[str, list[bytes]] = {}
        for task in self.finished_elsewhere.pop(node_id.hex(), ()):
            self._of_dead_nodes[task.task_id] = task
            self.node.loop.call_later(_UNCONFIRMED_SECONDS, self._of_dead_nodes.pop,
                                      task.task_id, None)
            by_owner.setdefault(task.owner, []).append(task.task_id)
        for owner, task_ids in by_owner.items():
            self.node.send(owner, [Kind.WORKER_DIED, node_id, address, header[2], task_ids])

    # ------------------------------------------------------------------ forwarded, finished
    def forwarded_finished(self, task_id: bytes) -> None:
        """The node a task was forwarded to says it finished: keep it a while (retries only),
        in case its result never reaches its owner."""
        entry = self.forwarded.pop(task_id, None)
        if entry is None:
            return
        target, task = entry
        if task.retries_left != 0 and not task.cancelled:
            recent = self.finished_elsewhere.get(target)
            if recent is None:
                recent = self.finished_elsewhere[target] = deque(maxlen=_RECENT_FORWARDED)
            recent.append(task)

    def take_forwarded(self, task_id: bytes) -> QueuedTask | None:
        """A forwarded task whose owner never got the result, if this node still has it."""
        entry = self.forwarded.pop(task_id, None)
        if entry is not None:   # the owner heard of the death before we heard it finished
            return entry[1]
        task = self._of_dead_nodes.pop(task_id, None)
        if task is not None:
            return task
        for recent in self.finished_elsewhere.values():
            for task in recent:
                if task.task_id == task_id:
                    recent.remove(task)
                    return task
        return None

    # ------------------------------------------------------------------ placement
    def _feasible_nodes(self, demand: dict[str, float]) -> list[str]:
        return sorted(node_id for node_id, n in self.view.items()
                      if all(n["total"].get(k, 0.0) >= v for k, v in demand.items()))

    def target_for(self, options: dict[str, Any], demand: dict[str, float],
                   local_busy: bool) -> str | None:
        """The node id to run something on, or None for here. Raises ValueError if none can."""
        if options.get("_origin") is not None or not self.view:
            return None   # already forwarded once, or not (yet) part of a cluster view
        strategy = options.get("strategy")
        if isinstance(strategy, dict) and strategy.get("node_id"):
            wanted = str(strategy["node_id"])
            if wanted == self.node_id_hex:
                return None
            if wanted in self.view:
                return wanted
            if strategy.get("soft"):
                return None
            raise ValueError(f"node {wanted} is not a live node of this cluster")
        feasible = self._feasible_nodes(demand)
        if not feasible:
            raise ValueError(f"no node of the cluster can ever provide {demand}")
        if strategy == "SPREAD":
            choice = feasible[next(self._spread) % len(feasible)]
            return None if choice == self.node_id_hex else choice
        if self.node_id_hex not in feasible:
            return max(feasible, key=lambda n: self.view[n]["available"].get("CPU", 0.0))
        if local_busy:
            # Spill to the least loaded node, counting what we sent since the last view.
            choice = min(feasible, key=self._load)
            if choice != self.node_id_hex:
                self.credit[choice] = self.credit.get(choice, 0.0) + 1.0
                return choice
        return None

    def _load(self, node_id: str) -> float:
        """Queued plus running work per CPU, as last reported (ours: as it is now)."""
        if node_id == self.node_id_hex:
            tasks = self.node.tasks
            return (len(tasks.queue) + len(tasks.running)) / max(self.node.pool_size, 1)
        node = self.view[node_id]
        cpus = float(max(node["total"].get("CPU", 1.0), 1.0))
        busy = cpus - node["available"].get("CPU", 0.0)
        return float(node["queued"] + busy + self.credit.get(node_id, 0.0)) / cpus

    def forward_task(self, task: QueuedTask, target: str) -> None:
        header = list(task.header)
        header[4] = header[4] or self.node.code.get(header[3])
        header[10] = {**header[10], "_origin": self.node.address}
        self.forwarded[task.task_id] = (target, task)
        self.node.send(self.view[target]["address"], header, task.buffers)

    def forward_actor(self, header: list[Any], buffers: list[Any], target: str) -> None:
        header = list(header)
        header[4] = header[4] or self.node.code.get(header[3])
        header[10] = {**header[10], "_origin": self.node.address}
        self.node.send(self.view[target]["address"], header, buffers)

    # ------------------------------------------------------------------ directory reports
    def actor_placed(self, info: ActorInfo) -> None:
        assert info.worker is not None
        record: dict[str, Any] = {
            "actor_id": info.actor_id, "node_id": self.node_id_hex,
            "address": info.worker.address, "incarnation": info.incarnation,
            "class_name": info.class_name, "name": info.name, "namespace": info.namespace,
            "methods": info.methods, "is_async": info.is_async,
            "max_restarts": info.options.get("max_restarts", 0), "restarts": info.restarts,
            "demand": info.demand}
        buffers: list[Any] = []
        limit = info.options.get("max_restarts", 0)
        if limit != 0 and info.incarnation == 0 and info.header:
            spec = list(info.header)
            spec[4] = spec[4] or self.node.code.get(spec[3])
            record["spec_header"] = spec
            buffers = [bytes(memoryview(b)) for b in info.buffers]
        self.request("actor_placed", record, buffers=buffers)

    def relay(self, header: list[Any]) -> None:
        """Have every other node pass ``header`` on to its processes."""
        self.request("relay", self.node_id_hex, pack(header))

    def describe_self(self) -> dict[str, Any]:
        return {"node_id": self.node_id_hex, "pid": os.getpid(), "head": self.head_address}
