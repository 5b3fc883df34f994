"""The node's actor directory: where each actor lives, its names, its restarts and its death.

Placement: an actor that reserves no CPU is *lightweight* and lives in a shared host worker,
with many others (hosts are added as actors accumulate, up to one per CPU). An actor that
reserves CPUs (``num_cpus >= 1``) gets a dedicated worker process and holds those CPUs while
alive; if they are not free it waits, as in Ray.

The node is told of placement (it chose the worker) and of construction (ACTOR_READY from the
worker); callers are sent ACTOR_PLACED with the worker's inbox address and then talk to the
worker directly: the node is not on the call path.
"""

from __future__ import annotations

import asyncio
import time
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from actorium._core.accelerators import GPU, gpu_amount
from actorium._core.resources import demand_of, in_bundles
from actorium._node.workers import WorkerInfo, WorkerKind, WorkerState
from actorium._observe.actor_index import ActorIndex
from actorium._supervision.policy import Backoff, Intensity, RestartHistory
from actorium._transport import serialization
from actorium._transport.protocol import Kind
from actorium.exceptions import ActorDiedError

if TYPE_CHECKING:
    from actorium._node.node import Node

# A handle can reach a process before the actor's CREATE_ACTOR reaches the node (an actor
# creates a child and returns its handle: the result and the creation travel on different
# channels). The node remembers such early subscriptions this long; an actor still unknown
# by then was never created (its creator died first), and the subscribers are told so.
EARLY_SUBSCRIPTION_SECONDS = 60.0

# Lightweight actors per host before another host is started (up to one host per CPU).
ACTORS_PER_HOST = 2000


class ActorStatus(StrEnum):
    PENDING = "PENDING_CREATION"
    ALIVE = "ALIVE"
    RESTARTING = "RESTARTING"
    DEAD = "DEAD"


class ActorInfo:
    """The directory entry of one actor."""

    __slots__ = ("actor_id", "owner", "class_name", "options", "is_async", "methods", "header",
                 "buffers", "status", "worker", "incarnation", "restarts", "death_reason",
                 "subscribers", "demand", "name", "namespace", "history", "owner_key",
                 "supervisor", "awaiting_supervisor", "restart_timer", "env")

    def __init__(self, header: list[Any], buffers: list[Any]) -> None:
        self.actor_id: bytes = header[1]
        self.owner: str = header[2]
        self.class_name: str = header[5]
        self.options: dict[str, Any] = header[10]
        self.is_async: bool = header[12]
        self.methods: dict[str, int] = header[14]
        self.header = header
        self.buffers = buffers
        self.status = ActorStatus.PENDING
        self.worker: WorkerInfo | None = None
        self.incarnation: int = header[13]          # > 0 when the head re-creates it
        self.restarts: int = self.options.get("_restarts", 0)
        self.death_reason = ""
        self.subscribers: set[str] = {self.owner}
        self.demand = demand_of(self.options)
        self.name: str | None = self.options.get("name")
        self.namespace: str = self.options.get("namespace") or "default"
        intensity = self.options.get("restart_intensity")
        self.history = RestartHistory(
            Backoff(*self.options.get("restart_backoff") or (0.1, 5.0)),
            Intensity(int(intensity[0]), float(intensity[1])) if intensity else None)
        # Fate sharing: a non-detached actor dies with the actor (by id) or, when created
        # outside any actor, the process (by inbox) that created it.
        owner_actor: bytes | None = self.options.get("owner_actor")
        self.owner_key: bytes | str | None = None if self.options.get("detached") else (
            owner_actor or self.owner)
        self.supervisor: bytes | None = self.options.get("supervisor")
        self.awaiting_supervisor = False     # dead, its supervisor decides what comes next
        self.restart_timer: asyncio.TimerHandle | None = None
        # Its runtime environment ({"hash", "env"}): it lives in a worker set up for it.
        self.env: dict[str, Any] | None = self.options.get("runtime_env")

    @property
    def label(self) -> str:
        return f"{self.class_name}({self.actor_id.hex()})"

    def describe(self) -> dict[str, Any]:
        worker = self.worker
        return {
            "actor_id": self.actor_id.hex(),
            "class_name": self.class_name,
            "state": self.status.value,
            "name": self.name or "",
            "namespace": self.namespace,
            "pid": worker.pid if worker else None,
            "worker_id": worker.worker_id.hex() if worker else None,
            "restarts": self.restarts,
            "death_reason": self.death_reason,
            "supervisor": self.supervisor.hex() if self.supervisor else None,
        }


class ActorManager:
    """Creates, places, restarts and buries actors for the node."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.actors: dict[bytes, ActorInfo] = {}
        self.names: dict[tuple[str, str], bytes] = {}
        self.waiting_for_resources: list[ActorInfo] = []
        # Counts per class and state, ids in order: the dashboard reads them, never walks
        # the directory. Every change of an actor's status goes through _set_status.
        self.index = ActorIndex()
        self._host_cursor = 0
        self.owned: dict[bytes | str, set[bytes]] = {}   # owner key -> its non-detached actors
        self._stops: dict[bytes, asyncio.Future[None]] = {}   # graceful stops under way
        # actor id -> inboxes that asked for it before it was created, and their expiry
        self._early: dict[bytes, tuple[set[str], asyncio.TimerHandle]] = {}

    # ------------------------------------------------------------------ creation
    def create(self, header: list[Any], buffers: list[Any]) -> dict[str, Any]:
        """Register and place a new actor; return how the caller can reach it.

        Raises ValueError when the name is taken (unless get_if_exists) or the actor can
        never fit on this node.
        """
        info = ActorInfo(header, buffers)
        cluster = self.node.cluster
        # A supervised child stays on its supervisor's node: the supervisor is an entry of
        # this node, which must see the child's deaths first. If the node is busy the child
        # waits here for resources, as any actor that does not fit yet.
        if cluster is not None and info.incarnation == 0 and info.supervisor is None:
            busy = not self.node.resources.fits(info.demand)
            target = cluster.target_for(info.options, info.demand, busy)
            if target is not None:
                cluster.forward_actor(header, buffers, target)
                return self.handle_descriptor(info)
        if info.name is not None:
            key = (info.namespace, info.name)
            existing_id = self.names.get(key)
            existing = self.actors.get(existing_id) if existing_id else None
            if existing is not None and existing.status is not ActorStatus.DEAD:
                if info.options.get("get_if_exists"):
                    return self.handle_descriptor(existing)
                raise ValueError(f"an actor named {info.name!r} already exists in namespace "
                                 f"{info.namespace!r}")
            self.names[key] = info.actor_id
        if not self.node.resources.feasible(info.demand):
            where = " (a supervised child runs on its supervisor's node)" \
                if info.supervisor is not None else ""
            raise ValueError(f"actor {info.label} can never be placed on this node{where}: "
                             f"it needs {self.node.resources.describe(info.demand)}")
        if info.supervisor is not None and not self.node.supervisors.admit(info):
            raise ValueError(f"actor {info.label} cannot start: its supervisor is not running")
        info.subscribers.update(self.take_early_subscribers(info.actor_id))
        self.actors[info.actor_id] = info
        self.index.add(info.class_name, info.actor_id, info.status.value)
        self.node.observer.actor_event("actor_created", info, f"actor {info.label} created")
        if info.owner_key is not None:
            self.owned.setdefault(info.owner_key, set()).add(info.actor_id)
        self._place(info)
        return self.handle_descriptor(info)

    def _set_status(self, info: ActorInfo, status: ActorStatus) -> None:
        self.index.moved(info.class_name, info.status.value, status.value)
        info.status = status

    def handle_descriptor(self, info: ActorInfo) -> dict[str, Any]:
        worker = info.worker
        return {
            "actor_id": info.actor_id,
            "class_name": info.class_name,
            "methods": info.methods,
            "is_async": info.is_async,
            "address": worker.address if worker is not None else None,
            "incarnation": info.incarnation,
            "max_task_retries": info.options.get("max_task_retries", 0),
            "max_pending_calls": info.options.get("max_pending_calls", -1),
            "dead": info.death_reason if info.status is ActorStatus.DEAD else None,
        }

    def _place(self, info: ActorInfo) -> None:
        node = self.node
        info.awaiting_supervisor = False
        info.restart_timer = None
        info.history.alive_since = max(info.history.alive_since, time.monotonic())
        header = list(info.header)
        if info.options.get("dedicated"):
            gpus = gpu_amount(info.demand)
            if not node.resources.fits(info.demand) or not node.gpus.can_take(gpus):
                self.waiting_for_resources.append(info)
                return
            node.resources.acquire(info.demand)
            gpu_ids = node.gpus.take(gpus) or []
            worker = node.start_worker(WorkerKind.DEDICATED, info.demand.get("CPU", 1.0),
                                       env=info.env, gpu_ids=gpu_ids)
            worker.reserved = info.demand
            if gpu_ids:
                header[10] = {**header[10], "accelerator_ids": {GPU: gpu_ids}}
        else:
            if info.demand:
                if not node.resources.fits(info.demand):
                    self.waiting_for_resources.append(info)
                    return
                node.resources.acquire(info.demand)
            worker = self.pick_host(info.env)
        info.worker = worker
        worker.actors.add(info.actor_id)
        header[13] = info.incarnation
        node.send_code_aware(worker, header, 3, 4, info.buffers)
        if worker.address is not None:
            self._announce(info)

    def pick_host(self, env: dict[str, Any] | None = None) -> WorkerInfo:
        """The host worker for one more lightweight actor of runtime environment ``env``
        (the node's own when None; started if none has room)."""
        node = self.node
        env_hash = env["hash"] if env else ""
        hosts = [w for w in node.workers.values() if w.kind is WorkerKind.HOST
                 and w.state is not WorkerState.DEAD and w.env_hash == env_hash]
        if not hosts or (min(len(h.actors) for h in hosts) >= ACTORS_PER_HOST
                         and len(hosts) < node.pool_size):
            return node.start_worker(WorkerKind.HOST, env=env)
        return min(hosts, key=lambda h: len(h.actors))

    def _announce(self, info: ActorInfo) -> None:
        assert info.worker is not None and info.worker.address is not None
        message = [Kind.ACTOR_PLACED, info.actor_id, info.worker.address, info.incarnation]
        targets = self.node.everyone() if info.incarnation > 0 else info.subscribers
        for address in list(targets):
            self.node.send(address, message)
        if self.node.cluster is not None:
            self.node.cluster.actor_placed(info)

    def worker_registered(self, worker: WorkerInfo) -> None:
        for actor_id in worker.actors:
            info = self.actors.get(actor_id)
            if info is not None and info.worker is worker:
                self._announce(info)

    def resources_freed(self) -> None:
        waiting, self.waiting_for_resources = self.waiting_for_resources, []
        for info in waiting:
            if info.status is not ActorStatus.DEAD:
                self._place(info)

    # ------------------------------------------------------------------ events from workers
    def ready(self, actor_id: bytes, incarnation: int, ok: bool, error_data: bytes | None) -> None:
        info = self.actors.get(actor_id)
        if info is None or info.incarnation != incarnation or info.status is ActorStatus.DEAD:
            return
        if ok:
            self._set_status(info, ActorStatus.ALIVE)
            self.node.observer.actor_event("actor_alive", info, f"actor {info.label} is alive"
                                           + (f" (restart {info.restarts})" if info.restarts
                                              else ""))
            if not self._may_restart(info) and info.supervisor is None:
                info.header, info.buffers = [], []  # only a restart would need them again
            return
        error = serialization.loads(serialization.PICKLE, error_data) if error_data else None
        self._bury(info, str(error) if error else "its constructor raised", error_data,
                   stop_worker=True)

    def worker_died(self, worker: WorkerInfo, reason: str) -> None:
        for actor_id in list(worker.actors):
            stop = self._stops.pop(actor_id, None)
            if stop is not None and not stop.done():
                stop.set_result(None)
            info = self.actors.get(actor_id)
            if info is None or info.worker is not worker or info.status is ActorStatus.DEAD:
                continue
            self._lost(info, f"its {worker.label} {reason}", incident=worker.worker_id)
        if worker.address is not None:
            self.reap_owned(worker.address, f"the {worker.label} that created it {reason}")

    def env_failed(self, worker: WorkerInfo, error: BaseException) -> None:
        """The worker's runtime environment could not be set up: its actors die of it (no
        restart: the same environment would fail the same way)."""
        message = (f"{error}").replace(
            "Failed to set up runtime environment.",
            "Failed to set up runtime environment.\nCould not create the actor because its "
            "associated runtime env failed to be created.", 1)
        error_data = serialization.dumps(type(error)(message))[1]
        for actor_id in list(worker.actors):
            info = self.actors.get(actor_id)
            if info is not None and info.worker is worker:
                self._bury(info, message.splitlines()[-1][:500], error_data, stop_worker=False)

    def subscribe(self, actor_id: bytes, address: str) -> dict[str, Any] | None:
        """``address`` holds a handle to the actor: tell it where the actor lives, now (the
        descriptor) or, for an actor whose creation has not arrived yet, once it is placed."""
        info = self.actors.get(actor_id)
        if info is None:
            self._subscribe_early(actor_id, address)
            return None
        info.subscribers.add(address)
        return self.handle_descriptor(info)

    def _subscribe_early(self, actor_id: bytes, address: str) -> None:
        early = self._early.get(actor_id)
        if early is None:
            timer = self.node.loop.call_later(EARLY_SUBSCRIPTION_SECONDS,
                                              self._never_created, actor_id)
            early = self._early[actor_id] = (set(), timer)
        early[0].add(address)

    def take_early_subscribers(self, actor_id: bytes) -> set[str]:
        """The inboxes that asked for ``actor_id`` before its creation arrived (now it has)."""
        early = self._early.pop(actor_id, None)
        if early is None:
            return set()
        early[1].cancel()
        return early[0]

    def _never_created(self, actor_id: bytes) -> None:
        early = self._early.pop(actor_id, None)
        if early is None or actor_id in self.actors or self.node.cluster is not None:
            return   # in a cluster, the actor may live on another node: not ours to judge
        reason = (f"no actor {actor_id.hex()} was created on this node within "
                  f"{EARLY_SUBSCRIPTION_SECONDS:.0f} s of its handle arriving (its creator "
                  f"died before creating it)")
        error = ActorDiedError(f"actor {actor_id.hex()} is unknown: {reason}",
                               actor_id=actor_id.hex())
        for address in early[0]:
            self.node.send(address, [Kind.ACTOR_DIED, actor_id, reason, False,
                                     serialization.dumps(error)[1]])

    # ------------------------------------------------------------------ kill, restart, death
    def kill(self, actor_id: bytes, no_restart: bool) -> None:
        info = self.actors.get(actor_id)
        if info is None or info.status is ActorStatus.DEAD:
            return
        if info.worker is not None:
            self.node.send_to_worker(info.worker, [Kind.KILL_ACTOR, actor_id,
                                                   "it was killed with actorium.kill()"], [])
        if not no_restart and (info.supervisor is not None or self._may_restart(info)):
            self._lost(info, "it was killed with actorium.kill(no_restart=False)",
                       requested=True)
        else:
            self._bury(info, "it was killed with actorium.kill()", None, stop_worker=True)

    def can_restart(self, info: ActorInfo) -> bool:
        """Whether ``kill(no_restart=False)`` would restart it: supervised, or restarts left."""
        return info.supervisor is not None or self._may_restart(info)

    def exited(self, actor_id: bytes, incarnation: int, reason: str) -> None:
        """The actor ended itself (``exit_actor()``, ``sys.exit(0)``): a normal exit, never
        restarted unsupervised."""
        info = self._live_incarnation(actor_id, incarnation)
        if info is None:
            return
        if info.worker is not None:
            self.node.send_to_worker(info.worker, [Kind.KILL_ACTOR, actor_id, reason], [])
        if info.supervisor is not None:
            self._lost(info, reason, abnormal=False)
        else:
            self._bury(info, reason, None, stop_worker=True)

    def crashed(self, actor_id: bytes, incarnation: int, reason: str) -> None:
        """A method called ``sys.exit()`` with an error code: the actor crashed (its process,
        shared with other actors, lives on); restarted if it has restarts left, as Ray."""
        info = self._live_incarnation(actor_id, incarnation)
        if info is None:
            return
        if info.worker is not None:
            self.node.send_to_worker(info.worker, [Kind.KILL_ACTOR, actor_id, reason], [])
        self._lost(info, reason)

    def _live_incarnation(self, actor_id: bytes, incarnation: int) -> ActorInfo | None:
        info = self.actors.get(actor_id)
        if info is None or info.status is ActorStatus.DEAD or info.incarnation != incarnation:
            return None
        return info

    def _may_restart(self, info: ActorInfo) -> bool:
        limit: int = info.options.get("max_restarts", 0)
        return limit == -1 or info.restarts < limit

    def _lost(self, info: ActorInfo, reason: str, *, abnormal: bool = True,
              requested: bool = False, incident: bytes | None = None) -> None:
        """The actor's instance is gone: restart it, hand it to its supervisor, or bury it."""
        supervisors = self.node.supervisors
        if info.supervisor is not None and supervisors.running(info.supervisor):
            self.begin_restart(info, reason)
            info.awaiting_supervisor = True
            supervisors.child_died(info.supervisor, info.actor_id, info.incarnation, reason,
                                   abnormal, incident)
            return
        if not self._may_restart(info):
            limit = info.options.get("max_restarts", 0)
            used = f"; {info.restarts}/{limit} restarts used" if limit else ""
            self._bury(info, reason + used, None, stop_worker=False)
            return
        delay = 0.0 if requested else info.history.next_restart()
        if delay is None:
            assert info.history.intensity is not None
            self._bury(info, f"{reason}; it restarted {info.history.intensity.describe()}, so "
                             f"it was given up on", None, stop_worker=False)
            return
        self.begin_restart(info, reason)
        self.place_later(info, delay)

    def begin_restart(self, info: ActorInfo, reason: str) -> None:
        """The current incarnation is over: free its place and tell every process."""
        self._release_placement(info, stop_worker=True)
        info.restarts += 1
        info.incarnation += 1
        self._set_status(info, ActorStatus.RESTARTING)
        self.node.observer.actor_event("actor_restarting", info,
                                       f"actor {info.label} is restarting: {reason}")
        message = [Kind.ACTOR_DIED, info.actor_id,
                   f"actor {info.label} is restarting: {reason}", True, None]
        for address in self.node.everyone():
            self.node.send(address, message)
        if self.node.cluster is not None:
            self.node.cluster.relay(message)
        self.reap_owned(info.actor_id, f"the actor {info.label} that created it died")

    def place_later(self, info: ActorInfo, delay: float) -> None:
        """Place a restarting actor's next incarnation after ``delay`` s (its back-off)."""
        if delay <= 0:
            self._place(info)
            return
        incarnation = info.incarnation

        def place() -> None:
            if info.status is ActorStatus.RESTARTING and info.incarnation == incarnation \
                    and info.worker is None:
                self._place(info)

        info.restart_timer = self.node.loop.call_later(delay, place)

    async def stop(self, info: ActorInfo, grace: float, reason: str) -> None:
        """Stop an actor gracefully: its running calls get ``grace`` s, then it is killed.

        Leaves the directory entry as it was; the caller restarts or buries it next.
        """
        worker = info.worker
        if worker is None or info.status is ActorStatus.DEAD:
            return
        future: asyncio.Future[None] = self.node.loop.create_future()
        self._stops[info.actor_id] = future
        self.node.send_to_worker(worker, [Kind.KILL_ACTOR, info.actor_id, reason,
                                          max(grace, 0.001)], [])
        try:
            await asyncio.wait_for(asyncio.shield(future), grace + 1.0)
        except TimeoutError:
            # Stuck in user code: a dedicated process is ended; a shared host keeps the
            # thread but the actor is dropped (the worker already gave up on it).
            if worker.kind is WorkerKind.DEDICATED and worker.process is not None \
                    and worker.process.returncode is None:
                worker.process.kill()
        finally:
            self._stops.pop(info.actor_id, None)

    def stopped(self, actor_id: bytes) -> None:
        """A worker finished a graceful stop."""
        future = self._stops.get(actor_id)
        if future is not None and not future.done():
            future.set_result(None)

    def owns_live_actors(self, owner_key: bytes | str) -> bool:
        """Whether ``owner_key`` (a process's inbox or an actor's id) created actors that
        are alive and share its fate."""
        return any(self.actors[actor_id].status is not ActorStatus.DEAD
                   for actor_id in self.owned.get(owner_key, ()) if actor_id in self.actors)

    def reap_owned(self, owner_key: bytes | str, reason: str) -> None:
        """Fate sharing: the owner died, so do its non-detached actors and supervisors."""
        self.node.supervisors.owner_gone(owner_key, reason)
        for actor_id in self.owned.pop(owner_key, ()):
            info = self.actors.get(actor_id)
            if info is None or info.status is ActorStatus.DEAD:
                continue
            if info.worker is not None:
                self.node.send_to_worker(info.worker, [Kind.KILL_ACTOR, actor_id, reason], [])
            self._bury(info, reason, None, stop_worker=True)

    def _release_placement(self, info: ActorInfo, stop_worker: bool) -> None:
        worker = info.worker
        if worker is None:
            return
        worker.actors.discard(info.actor_id)
        if worker.kind is WorkerKind.HOST and worker.env_hash and not worker.actors:
            # An empty host of a runtime environment goes, so that the environment can be
            # cleaned up; the node's own hosts stay for the next actors.
            worker.state = WorkerState.DEAD
            worker.exit_description = "retired"
            self.node.stop_worker(worker)
        if worker.kind is WorkerKind.DEDICATED:
            if stop_worker:
                self.node.stop_worker(worker)
            # The CPUs are free the moment the actor is dead, not when its process has exited.
            released, worker.reserved = worker.reserved, {}
            self.node.gpus.give(worker.gpu_ids, gpu_amount(released))
            worker.gpu_ids = []
        else:
            released = info.demand
        info.worker = None
        if released:
            self.node.resources.release(released)
            self.resources_freed()

    def bury(self, info: ActorInfo, reason: str) -> None:
        """Give up on an actor for good (its supervisor's decision)."""
        if info.status is ActorStatus.DEAD:
            return
        if info.worker is not None:
            self.node.send_to_worker(info.worker, [Kind.KILL_ACTOR, info.actor_id, reason], [])
        self._bury(info, reason, None, stop_worker=True)

    def _bury(self, info: ActorInfo, reason: str, error_data: bytes | None,
              stop_worker: bool) -> None:
        if info.status is ActorStatus.DEAD:
            return
        self._set_status(info, ActorStatus.DEAD)
        info.death_reason = reason
        self.node.observer.actor_event("actor_died", info, f"actor {info.label} died: {reason}")
        info.awaiting_supervisor = False
        if info.restart_timer is not None:
            info.restart_timer.cancel()
            info.restart_timer = None
        self._release_placement(info, stop_worker)
        if info.name is not None and self.names.get((info.namespace, info.name)) == info.actor_id:
            del self.names[(info.namespace, info.name)]
        if info.owner_key is not None:
            self.owned.get(info.owner_key, set()).discard(info.actor_id)
        if info.supervisor is not None:
            self.node.supervisors.forget_child(info.supervisor, info.actor_id)
        if error_data is None:
            error_data = serialization.dumps(ActorDiedError(
                f"actor {info.label} died: {reason}", actor_id=info.actor_id.hex()))[1]
        message = [Kind.ACTOR_DIED, info.actor_id, reason, False, error_data]
        for address in self.node.everyone():
            self.node.send(address, message)
        if self.node.cluster is not None:
            self.node.cluster.relay(message)
        self.reap_owned(info.actor_id, f"the actor {info.label} that created it died")

    # ------------------------------------------------------------------ queries
    def in_placement_group(self, group: str, bundles: list[int] | None = None) -> list[bytes]:
        """Ids of the live actors scheduled into placement group ``group`` (hex), or into
        its ``bundles`` only."""
        found = []
        for actor_id, info in self.actors.items():
            if info.status is not ActorStatus.DEAD and in_bundles(info.options, group, bundles):
                found.append(actor_id)
        return found

    def lookup(self, name: str, namespace: str) -> dict[str, Any]:
        actor_id = self.names.get((namespace, name))
        info = self.actors.get(actor_id) if actor_id else None
        if info is None or info.status is ActorStatus.DEAD:
            raise ValueError(f"no actor named {name!r} in namespace {namespace!r}")
        return self.handle_descriptor(info)

    def listing(self) -> list[dict[str, Any]]:
        return [info.describe() for info in self.actors.values()]
