"""The node daemon: owns the worker processes of one machine and their resources.

One process per node, one event loop, one inbox. It

* starts ``num_cpus`` task workers, and actor hosts / dedicated actor workers on demand;
* queues tasks until resources and a worker are free (``task_scheduler``);
* keeps the actor directory: placement, names, restarts, deaths (``actor_manager``);
* answers REQUESTs (resources, nodes, named actors, kills, cancels);
* notices a worker's death the moment the process exits, and tells everyone concerned.

It never unpickles user data: it decodes message headers and forwards the payload frames.
In an embedded runtime (``init()`` with no address) the driver starts the node and the node
exits when the driver's pipe to it closes, so nothing outlives the driver.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import traceback
from collections.abc import Callable
from typing import Any

import zmq

from actorium._core.accelerators import (
    GPU,
    VISIBLE_DEVICES,
    GpuIds,
    detect_gpu_count,
    gpu_amount,
)
from actorium._core.affinity import CoreDealer
from actorium._core.ids import random_id
from actorium._core.resources import ResourcePool
from actorium._faults.injector import interpose as interpose_faults
from actorium._faults.injector import interpose_inbox
from actorium._node.actor_manager import ActorManager
from actorium._node.bundles import NodeBundles
from actorium._node.driver_watch import TIMEOUT as DRIVER_TIMEOUT
from actorium._node.driver_watch import DriverWatch
from actorium._node.observer import NodeObserver
from actorium._node.supervision import SupervisionTree
from actorium._node.task_scheduler import TaskScheduler
from actorium._node.workers import (
    WorkerInfo,
    WorkerKind,
    WorkerState,
    describe_exit,
    spawn_worker,
    stop_workers,
)
from actorium._observe import system_usage
from actorium._runtime_env.manager import EnvManager
from actorium._runtime_env.packaging import PackageStore
from actorium._store import paths
from actorium._store.capacity import default_capacity
from actorium._store.paths import owner_tag
from actorium._store.store import sweep_owner
from actorium._transport import serialization
from actorium._transport.auth import FrameAuth
from actorium._transport.channel import Inbox, Outbox, free_tcp_address
from actorium._transport.protocol import Kind, pack, unpack
from actorium._transport.requests import answer
from actorium._virtual.hosting import VirtualHosting
from actorium.exceptions import RuntimeEnvSetupError

NODE_SOCKET = "node.sock"
# A worker of a runtime environment that stays idle this long is stopped (its environment may
# then be cleaned up); the node's own pool of task workers stays.
ENV_WORKER_IDLE_SECONDS = float(os.environ.get("ACTORIUM_ENV_WORKER_IDLE_SECONDS", "30"))
_HEAD_ANSWER_TIMEOUT = 30.0
# Requests that, in a cluster, are about the whole cluster: the head answers them.
_ASKED_OF_THE_HEAD = frozenset({"nodes", "cluster_resources", "available_resources",
                                "list_actors", "get_actor", "create_actor",
                                "create_placement_group", "wait_placement_group",
                                "remove_placement_group", "placement_group_table",
                                "get_placement_group"})


class Node:
    """The node daemon's state and message handlers (all on one event loop)."""

    def __init__(self, *, session_dir: str, num_cpus: int, resources: dict[str, float],
                 namespace: str, token: str, max_threads: int = 64,
                 bind_host: str | None = None) -> None:
        self.session_dir = session_dir
        self.node_id = random_id(16)
        self.job_id = random_id(4)
        self.namespace = namespace
        # In a cluster (``bind_host`` given) the node and its workers listen on tcp so that
        # other nodes and remote drivers reach them; on one machine, ipc in the session dir.
        self.bind_host = bind_host
        self.address = (free_tcp_address(bind_host) if bind_host
                        else f"ipc://{session_dir}/{NODE_SOCKET}")
        self.auth = FrameAuth(token)
        # Set by ``ClusterLink`` when this node belongs to a cluster (None: standalone).
        self.cluster: Any = None
        # The head service, when this node's process runs it (set by node_main).
        self.head: Any = None
        self.pool_size = max(1, num_cpus)
        self.max_threads = max_threads
        total = {"CPU": float(num_cpus), **resources}
        total.setdefault("memory", float(_memory_bytes(session_dir)))
        if GPU not in total and (detected := detect_gpu_count()):
            total[GPU] = float(detected)
        if not total.get(GPU, 1.0):
            total.pop(GPU)   # num_gpus=0: no GPU line at all, as in Ray
        self.resources = ResourcePool(total)
        # Which GPU ids are free; the resource pool counts the amounts, this the devices.
        self.gpus = GpuIds(total.get(GPU, 0.0))
        self.workers: dict[bytes, WorkerInfo] = {}
        self.clients: set[str] = set()
        self.code: dict[bytes, bytes] = {}   # code id -> pickled function/class, sent once
        self.zmq_context: zmq.Context[Any] = zmq.Context()
        self.loop = asyncio.get_running_loop()
        self.outbox = Outbox(self.zmq_context, self.address, self._deliver_locally, self.auth,
                             self.loop)
        interpose_faults(self.outbox, "node")   # a no-op unless a test planned faults
        # Delayed and reordered messages wait here, at the receiver (off without a plan).
        self._receive = interpose_inbox(self._on_message, self.outbox)
        self.inbox = Inbox(self.zmq_context, self.address, self.loop, self._receive,
                           self.auth)
        self.cores = CoreDealer()
        # Runtime environments: uploaded packages, and the environments set up from them.
        self.packages = PackageStore(os.path.join(session_dir, "packages"))
        self.envs = EnvManager(self._fetch_package,
                               f"node {self.node_id.hex()[:12]} on {socket.gethostname()}")
        # Jobs: the manager runs on the head node (set by node_main); drivers by job.
        self.jobs: Any = None
        self.job_drivers: dict[str, set[str]] = {}
        self.tasks = TaskScheduler(self)
        self.actors = ActorManager(self)
        self.supervisors = SupervisionTree(self)
        # Verbs answered by the node's parts (name -> handler), beside its own _verb_*.
        self.verbs: dict[str, Callable[..., Any]] = {}
        self.bundles = NodeBundles(self)
        self.virtual = VirtualHosting(self, self.actors.pick_host, self.loop)
        self.stopping = False
        self.stopped = asyncio.Event()
        self.token = token
        self.observer = NodeObserver(self)
        self.drivers = DriverWatch(self.loop, self._driver_lost)
        self._replies: set[asyncio.Task[None]] = set()   # answers still being worked out
        self._handlers: dict[int, Callable[[list[Any], list[Any]], Any]] = {
            Kind.REGISTER: self._on_register,
            Kind.SUBMIT_TASK: lambda h, b: self.tasks.submit(h, b),
            Kind.LEASE_REQUEST: lambda h, b: self.tasks.request_lease(h),
            Kind.TASK_FINISHED: lambda h, b: self.tasks.finished(h[1]),
            Kind.TASK_BLOCKED: self._on_task_blocked,
            Kind.CREATE_ACTOR: self._on_create_actor,
            Kind.ACTOR_READY: lambda h, b: self.actors.ready(h[1], h[2], h[3], h[4]),
            Kind.REQUEST: self._on_request,
            Kind.SHUTDOWN: lambda h, b: self.loop.create_task(self.shutdown()),
            Kind.WORKER_STATS: self._on_worker_stats,
        }

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        self.inbox.start()
        self.observer.start()
        for _ in range(self.pool_size):
            self.start_worker(WorkerKind.TASK)

    def start_worker(self, kind: WorkerKind, cpus: float = 1.0,
                     env: dict[str, Any] | None = None,
                     gpu_ids: list[str] | None = None) -> WorkerInfo:
        """Start a worker (in the runtime environment ``env``, set up first if need be);
        ``gpu_ids``: the GPUs it holds for its one actor (its ``CUDA_VISIBLE_DEVICES``)."""
        info = WorkerInfo(kind, env)
        info.gpu_ids = list(gpu_ids or [])
        info.cpus = self.cores.deal(cpus)
        self.workers[info.worker_id] = info
        self.loop.create_task(self._spawn(info))
        return info

    async def _spawn(self, info: WorkerInfo) -> None:
        prepared = None
        if info.env is not None:
            try:
                prepared = await self.envs.acquire(info.env)
            except RuntimeEnvSetupError as exc:
                self._env_failed(info, exc)
                return
            info.env_acquired = True
            if self.stopping:
                self.envs.release(info.env_hash)
                return
        try:
            await spawn_worker(info, session_dir=self.session_dir, node_address=self.address,
                               node_id=self.node_id, job_id=self.job_id,
                               namespace=self.namespace, max_threads=self.max_threads,
                               on_exit=self._on_worker_exit,
                               python=prepared.python if prepared else None,
                               variables=self._worker_variables(info, prepared),
                               cwd=prepared.cwd if prepared else None)
            self.observer.worker_started(info)
        except Exception as exc:  # noqa: BLE001 - e.g. fork failed for lack of memory
            print(f"actorium node: could not start a worker: {exc}", file=sys.stderr)
            self._on_worker_exit(info, None)

    @staticmethod
    def _worker_variables(info: WorkerInfo, prepared: Any) -> dict[str, str] | None:
        variables = dict(prepared.variables) if prepared is not None else {}
        if info.gpu_ids:
            variables[VISIBLE_DEVICES] = ",".join(info.gpu_ids)
        return variables or None

    def release_reservation(self, worker: WorkerInfo) -> None:
        """Give back what a dedicated worker's actor reserved: resources and GPU ids."""
        if worker.reserved:
            self.gpus.give(worker.gpu_ids, gpu_amount(worker.reserved))
            self.resources.release(worker.reserved)
            worker.reserved = {}
        worker.gpu_ids = []

    def _env_failed(self, worker: WorkerInfo, error: RuntimeEnvSetupError) -> None:
        """The environment of a worker about to start could not be set up: what was to run
        there fails with the error (tasks of that environment, actors placed in it)."""
        worker.state = WorkerState.DEAD
        self.workers.pop(worker.worker_id, None)
        if self.stopping:
            return
        self.release_reservation(worker)
        self.observer.events.record("runtime_env_failed", str(error).splitlines()[-1][:300],
                                    env_hash=worker.env_hash)
        self.tasks.env_failed(worker.env_hash, error)
        self.actors.env_failed(worker, error)
        self.actors.resources_freed()
        self.tasks.schedule_soon()

    def stop_worker(self, worker: WorkerInfo) -> None:
        """Ask a worker to exit: closing its stdin makes it flush its sockets and leave.

        Never SIGKILL a healthy worker: results it queued a moment ago would be lost.
        """
        process = worker.process
        if process is not None and process.returncode is None and process.stdin is not None:
            process.stdin.close()

    def retire_extra_worker(self, worker: WorkerInfo) -> None:
        """Stop a task worker that was started beyond the pool size once it is idle; a worker
        of a runtime environment once it has been idle for ``ENV_WORKER_IDLE_SECONDS``.
        Not one that created live actors: they share its fate, and an idle worker that owns
        actors is kept, as Ray keeps it."""
        if worker.state is not WorkerState.IDLE or self.owns_actors(worker):
            return
        if worker.env_hash:
            if worker.idle_timer is None:
                worker.idle_timer = self.loop.call_later(
                    ENV_WORKER_IDLE_SECONDS, self.retire_idle_env_worker, worker)
            return
        task_workers = [w for w in self.workers.values() if w.kind is WorkerKind.TASK
                        and w.state is not WorkerState.DEAD and not w.env_hash]
        if len(task_workers) > self.pool_size and not self.tasks.queue:
            self.retire(worker)

    def retire_idle_env_worker(self, worker: WorkerInfo) -> None:
        worker.idle_timer = None
        if worker.state is WorkerState.IDLE and not self.owns_actors(worker):
            self.retire(worker)

    def owns_actors(self, worker: WorkerInfo) -> bool:
        return worker.address is not None and self.actors.owns_live_actors(worker.address)

    def retire(self, worker: WorkerInfo) -> None:
        """Stop a worker that must not run more work (e.g. it used up ``max_calls``)."""
        if worker.idle_timer is not None:
            worker.idle_timer.cancel()
            worker.idle_timer = None
        worker.state = WorkerState.DEAD
        worker.exit_description = "retired"
        self.stop_worker(worker)

    async def shutdown(self) -> None:
        if self.stopping:
            return
        self.stopping = True
        if self.cluster is not None:
            self.cluster.leave()
        self.drivers.close()
        if self.jobs is not None:
            await self.jobs.close()
        self.envs.close()
        await stop_workers(list(self.workers.values()), grace=2.0)
        await self.virtual.close()
        await self.observer.close()
        self.bundles.close()
        self.stopped.set()

    def close(self) -> None:
        self.inbox.close()
        self.outbox.close()
        self.zmq_context.destroy(linger=0)

    # ------------------------------------------------------------------ messaging
    def send(self, address: str, header: list[Any], buffers: list[Any] | tuple[()] = ()) -> None:
        frame = pack(header)
        self.outbox.send(address, (frame, *buffers) if buffers else (frame,))

    def send_to_worker(self, worker: WorkerInfo, header: list[Any], buffers: list[Any]) -> None:
        if worker.address is None:
            worker.outbox_until_ready.append((header, buffers))
        elif worker.state is not WorkerState.DEAD:
            self.send(worker.address, header, buffers)

    def send_code_aware(self, worker: WorkerInfo, header: list[Any], id_field: int,
                        code_field: int, buffers: list[Any]) -> None:
        """Forward a task or actor creation, attaching its code if this worker lacks it."""
        code_id = header[id_field]
        if code_id in worker.code_ids:
            header[code_field] = None
        else:
            code = header[code_field] or self.code.get(code_id)
            if code is None:
                raise LookupError(f"code {code_id.hex()} is unknown to the node")
            header[code_field] = code
            worker.code_ids.add(code_id)
        self.send_to_worker(worker, header, buffers)

    def everyone(self) -> list[str]:
        """Every live inbox known to the node: drivers and registered workers."""
        addresses = list(self.clients)
        addresses.extend(w.address for w in self.workers.values()
                         if w.address is not None and w.state is not WorkerState.DEAD)
        return addresses

    def _deliver_locally(self, frames: list[Any]) -> None:
        self.loop.call_soon(self._receive, frames)

    def _on_message(self, frames: list[Any]) -> None:
        try:
            header = unpack(frames[0])
            handler = self._handlers[header[0]]
        except Exception:  # noqa: BLE001 - malformed frames are dropped, never fatal
            self.inbox.dropped += 1
            return
        buffers = frames[1:]
        if header[0] in (Kind.SUBMIT_TASK, Kind.CREATE_ACTOR):
            code_field = 4
            if header[code_field] is not None:
                self.code.setdefault(header[3], header[code_field])
        try:
            handler(header, buffers)
        except Exception:  # noqa: BLE001 - one bad message must not stop the node
            traceback.print_exc()

    # ------------------------------------------------------------------ handlers
    def _on_register(self, header: list[Any], _buffers: list[Any]) -> None:
        _, role, worker_id, address = header[:4]
        if role == "driver":
            self.clients.add(address)
            return
        worker = self.workers.get(worker_id)
        if worker is None or worker.state is WorkerState.DEAD:
            return
        worker.address = address
        worker.state = WorkerState.IDLE
        for queued_header, buffers in worker.outbox_until_ready:
            self.send(address, queued_header, buffers)
        worker.outbox_until_ready.clear()
        self.actors.worker_registered(worker)
        if worker.kind is WorkerKind.TASK:
            self.tasks.schedule_soon()

    def _on_task_blocked(self, header: list[Any], _buffers: list[Any]) -> None:
        worker = self.workers.get(header[1])
        if worker is not None:
            self.tasks.blocked(worker, header[2])

    def _on_create_actor(self, header: list[Any], buffers: list[Any]) -> None:
        try:
            described = self.actors.create(header, buffers)
            if described["actor_id"] != header[1]:
                # get_if_exists found a live actor of that name: point the caller's new
                # handle at it, and keep the caller informed of where it lives.
                self.actors.subscribe(described["actor_id"], header[2])
                self.send(header[2], [Kind.ACTOR_PLACED, header[1], described["address"],
                                      described["incarnation"], described["actor_id"]])
        except ValueError as exc:
            from actorium.exceptions import ActorDiedError
            error = ActorDiedError(f"actor {header[5]} could not be created: {exc}",
                                   actor_id=header[1].hex(), cause=exc)
            message = [Kind.ACTOR_DIED, header[1], str(exc), False,
                       serialization.dumps(error)[1]]
            for address in {header[2], *self.actors.take_early_subscribers(header[1])}:
                self.send(address, message)

    def _on_worker_exit(self, worker: WorkerInfo, returncode: int | None) -> None:
        reason = worker.exit_description or describe_exit(returncode)
        worker.state = WorkerState.DEAD
        self.workers.pop(worker.worker_id, None)
        self.observer.worker_exited(worker, reason)
        if worker.idle_timer is not None:
            worker.idle_timer.cancel()
            worker.idle_timer = None
        if worker.env_acquired:
            worker.env_acquired = False
            self.envs.release(worker.env_hash)
        if self.stopping:
            return
        if worker.address is not None and "links" in vars(self.outbox):
            # Reliable links (tests, or ACTORIUM_RELIABLE_LINKS): what it sent that waits
            # behind a gap it will never fill is handled now, before its death, as a lossless
            # link would have delivered it; and nothing is resent to it any more.
            self.outbox.forget(worker.address)
        self.release_reservation(worker)
        self.tasks.worker_died(worker, reason)
        self.actors.worker_died(worker, reason)
        self.virtual.worker_died(worker, reason)
        if worker.address is not None:  # its objects and half-written results go too
            sweep_owner(self.session_dir, owner_tag(worker.address))
            self.tasks.reap_owned(worker.address, f"the {worker.label} that submitted it "
                                                  f"{reason}")
        if worker.address is not None:
            # Each owner of a task it finished lately learns which (see ``lost_results``).
            unconfirmed = self.tasks.unconfirmed_of(worker)
            for address in {*self.everyone(), *unconfirmed}:
                self.send(address, [Kind.WORKER_DIED, worker.worker_id, worker.address, reason,
                                    unconfirmed.get(address, [])])
        if worker.kind is WorkerKind.TASK and not worker.env_hash:
            alive = sum(1 for w in self.workers.values()
                        if w.kind is WorkerKind.TASK and not w.env_hash)
            if alive < self.pool_size:
                self.start_worker(WorkerKind.TASK)
        self.actors.resources_freed()
        self.tasks.schedule_soon()

    # ------------------------------------------------------------------ requests
    def _on_request(self, header: list[Any], buffers: list[Any]) -> None:
        _, request_id, reply_to, verb, args = header
        handler: Any = getattr(self, f"_verb_{verb}", None) or self.verbs.get(verb)
        if self.cluster is not None and verb in _ASKED_OF_THE_HEAD:
            handler = self._cluster_verb(verb)
        def run() -> Any:
            if handler is None:
                raise ValueError(f"the node does not understand request {verb!r}")
            return handler(*args, buffers=buffers) if verb == "create_actor" else handler(*args)

        # A verb that takes time (a question the head answers, stopping a supervisor's
        # children, waiting for a placement group) is answered when done, with no deadline
        # here: the head link times out its own questions, and a supervisor's stop takes as
        # long as its children's shutdown timeouts.
        task = answer(self.send, reply_to, request_id, run, self.loop)
        if task is not None:
            self._replies.add(task)
            task.add_done_callback(self._replies.discard)

    def _cluster_verb(self, verb: str) -> Callable[..., Any]:
        cluster = self.cluster

        async def ask(*args: Any, buffers: Any = ()) -> Any:
            if verb == "get_actor":
                try:
                    return self.actors.lookup(*args)
                except ValueError:
                    return await cluster.request("lookup_actor", *args)
            if verb == "create_actor":
                return await self._create_named_in_cluster(args[0], buffers)
            return await cluster.request(verb, *args)

        async def ask_head(*args: Any, buffers: Any = ()) -> Any:
            # A head that is down must not leave the requester waiting forever.
            return await asyncio.wait_for(ask(*args, buffers=buffers), _HEAD_ANSWER_TIMEOUT)
        return ask_head

    async def _create_named_in_cluster(self, header_bytes: bytes,
                                       buffers: list[Any]) -> dict[str, Any]:
        """A named actor: claim its name cluster-wide at the head, then create it."""
        header = unpack(header_bytes)
        options = header[10]
        name, namespace = options.get("name"), options.get("namespace") or "default"
        if name is not None:
            holder = await self.cluster.request("reserve_name", name, namespace, header[1])
            if holder != header[1]:
                if options.get("get_if_exists"):
                    try:
                        return self.actors.lookup(name, namespace)
                    except ValueError:
                        described: dict[str, Any] = await self.cluster.request(
                            "lookup_actor", name, namespace)
                        return described
                raise ValueError(f"an actor named {name!r} already exists in namespace "
                                 f"{namespace!r}")
        return self._verb_create_actor(header_bytes, buffers=buffers)

    def _verb_register_driver(self, address: str,
                              submission_id: str | None = None) -> dict[str, Any]:
        self.clients.add(address)
        if submission_id:
            self.job_drivers.setdefault(submission_id, set()).add(address)
        if self.cluster is not None:
            # An embedded node is its driver's child and dies with it; only drivers that
            # connected to a cluster need watching (a busy driver must not lose its actors).
            self.drivers.heard(address)
        return {"node_id": self.node_id, "job_id": self.job_id, "namespace": self.namespace}

    def _verb_unregister_driver(self, address: str, worker_id: bytes | None = None) -> bool:
        self.clients.discard(address)
        self.drivers.forget(address)
        if self.cluster is not None:
            self.cluster.request("remove_owned_placement_groups", address)
            self.cluster.request("unsubscribe_logs", address)
        else:
            self.bundles.groups.remove_owned_by(address)
        self.observer.driver_left(address, worker_id)
        self.reap_owner(address, "the driver that created it disconnected")
        if self.cluster is not None:   # what it owns on other nodes goes too
            self.cluster.request("owner_gone", address, "the driver that created it "
                                 "disconnected")
        return True

    def reap_owner(self, owner: str, reason: str) -> None:
        """Fate sharing: the process at ``owner`` is gone; its non-detached actors and its
        tasks (queued or running) on this node go with it."""
        self.actors.reap_owned(owner, reason)
        self.tasks.reap_owned(owner, reason)

    def _verb_reap_owner(self, owner: str, reason: str) -> bool:
        self.reap_owner(owner, reason)
        return True

    def _verb_lost_results(self, task_ids: list[bytes]) -> bool:
        self.tasks.lost_results(list(task_ids))
        return True

    def job_ended(self, submission_id: str) -> None:
        """A submitted job ended (or was stopped): its drivers are gone, and what they own."""
        for address in self.job_drivers.pop(submission_id, set()):
            if address in self.clients:
                self._verb_unregister_driver(address)

    def _on_worker_stats(self, header: list[Any], buffers: list[Any]) -> None:
        payload = header[2] if len(header) > 2 else None
        if self.cluster is not None and isinstance(payload, dict) \
                and payload.get("address") in self.clients:
            self.drivers.heard(payload["address"])   # a driver's periodic report
        self.observer.on_worker_stats(header, buffers)

    def _driver_lost(self, address: str) -> None:
        if address not in self.clients or self.stopping:
            return
        self.observer.events.record("driver_lost", f"driver {address} stopped reporting for "
                                    f"{DRIVER_TIMEOUT:g} s: its non-detached actors are reaped")
        self._verb_unregister_driver(address)

    def _verb_subscribe_logs(self, address: str, local_only: bool = False) -> bool:
        """Send this driver every line its workers print (``init(log_to_driver=True)``);
        in a cluster, every node's workers (the head tells the others)."""
        self.observer.subscribe_logs(address)
        if self.cluster is not None and not local_only:
            self.cluster.request("subscribe_logs", address)
        return True

    def _verb_unsubscribe_logs(self, address: str) -> bool:
        self.observer.driver_left(address)
        return True

    def _verb_state(self, kind: str, query: dict[str, Any], limit: int,
                    local_only: bool = False) -> Any:
        """Rows of a state table; in a cluster, of every node (the head gathers them)."""
        if self.cluster is not None and not local_only:
            return self.cluster.request("cluster_state", kind, query, limit)
        return self.observer.state(kind, limit=limit, **query)

    def _verb_summary(self, local_only: bool = False) -> Any:
        if self.cluster is not None and not local_only:
            return self.cluster.request("cluster_summary")
        return self.observer.summary()

    def _verb_actor_detail(self, actor_id: str) -> dict[str, Any]:
        return self.observer.actor_detail(actor_id)

    def _verb_metrics(self) -> Any:
        return self.observer.cluster_metrics_text()

    def _verb_cluster_resources(self) -> dict[str, float]:
        return dict(self.resources.total)

    def _verb_available_resources(self) -> dict[str, float]:
        return {k: v for k, v in self.resources.available.items() if v > 0}

    def _verb_nodes(self) -> list[dict[str, Any]]:
        return [{
            "NodeID": self.node_id.hex(),
            "Alive": True,
            "alive": True,
            "NodeManagerAddress": "127.0.0.1",
            "NodeManagerHostname": os.uname().nodename,
            "Resources": dict(self.resources.total),
            "num_workers": len(self.workers),
        }]

    def _verb_create_actor(self, header_bytes: bytes, *, buffers: list[Any]) -> dict[str, Any]:
        header = unpack(header_bytes)
        if header[4] is not None:
            self.code.setdefault(header[3], header[4])
        return self.actors.create(header, buffers)

    def _verb_get_actor(self, name: str, namespace: str) -> dict[str, Any]:
        return self.actors.lookup(name, namespace)

    def _verb_subscribe_actor(self, actor_id: bytes, address: str) -> dict[str, Any] | None:
        return self.actors.subscribe(actor_id, address)

    def _verb_kill_actor(self, actor_id: bytes, no_restart: bool, from_head: bool = False) -> bool:
        if self.virtual.verb_drop(actor_id, None):
            return True   # a virtual actor: this activation ends (the next call activates it)
        if actor_id not in self.actors.actors and self.cluster is not None and not from_head:
            # It lives on another node: the head knows which, and passes the kill on.
            self.cluster.request("kill_actor", actor_id, no_restart)
            return True
        self.actors.kill(actor_id, no_restart)
        return True

    def _verb_actor_stopped(self, actor_id: bytes, _incarnation: int) -> bool:
        self.actors.stopped(actor_id)
        return True

    def _verb_actor_exited(self, actor_id: bytes, incarnation: int, reason: str) -> bool:
        self.actors.exited(actor_id, incarnation, reason)
        return True

    def _verb_actor_crashed(self, actor_id: bytes, incarnation: int, reason: str) -> bool:
        self.actors.crashed(actor_id, incarnation, reason)
        return True

    # Supervisors: see _node/supervision.py.
    def _verb_create_supervisor(self, sup_id: bytes, owner_key: bytes | str,
                                spec: dict[str, Any]) -> bool:
        self.supervisors.create(sup_id, owner_key, spec)
        return True

    def _verb_stop_supervisor(self, sup_id: bytes, reason: str) -> Any:
        return self.supervisors.stop(sup_id, reason)

    def _verb_wait_supervisor(self, sup_id: bytes) -> Any:
        return self.supervisors.wait(sup_id)

    def _verb_supervisor_status(self, sup_id: bytes) -> dict[str, Any]:
        return self.supervisors.describe(sup_id)

    def _verb_cancel_task(self, task_id: bytes, force: bool) -> bool:
        forwarded = self.cluster.forwarded.get(task_id) if self.cluster is not None else None
        if forwarded is not None:
            # It runs (or waits) on another node: that node cancels it.
            address = self.cluster.view.get(forwarded[0], {}).get("address")
            if address is not None:
                self.send(address, [Kind.REQUEST, 0, self.address, "cancel_task",
                                    [task_id, force]])
            return True
        self.tasks.cancel(task_id, force)
        return True

    def _verb_end_lease(self, lease_id: bytes) -> bool:
        self.tasks.end_lease(lease_id)
        return True

    def _verb_list_actors(self) -> list[dict[str, Any]]:
        return self.actors.listing()

    def _verb_list_workers(self) -> list[dict[str, Any]]:
        return [{"worker_id": w.worker_id.hex(), "pid": w.pid, "kind": w.kind.value,
                 "state": w.state.value, "actors": len(w.actors)}
                for w in self.workers.values()]

    # Runtime environments: packages uploaded by drivers, and eager set-up.
    def _verb_has_package(self, uri: str) -> Any:
        """Whether the cluster has this package (the head's store; here, standalone)."""
        if self.cluster is not None:
            return self.cluster.request("has_package", uri)
        return self.packages.has(uri)

    async def put_package(self, uri: str, data: bytes) -> None:
        """Keep an uploaded package (the job API's upload) here and at the head."""
        await asyncio.to_thread(self.packages.write, uri, data)
        if self.cluster is not None:
            await self.cluster.request("put_package", uri, data)

    async def _verb_put_package(self, uri: str, data: bytes) -> bool:
        """Keep a package here, and at the head so that every node can fetch it (the file is
        written on a thread: a large package must not hold up the loop)."""
        await self.put_package(uri, data)
        return True

    def _verb_prepare_runtime_env(self, wire: dict[str, Any]) -> bool:
        """Start setting an environment up now (``eager_install``), not at its first task."""
        async def prepare() -> None:
            try:
                await self.envs.acquire(wire)
            except (RuntimeEnvSetupError, asyncio.CancelledError):
                return   # reported to whoever runs something in it
            self.envs.release(wire["hash"])
        self.loop.create_task(prepare())
        return True

    async def _fetch_package(self, uri: str) -> bytes:
        data = await asyncio.to_thread(self.packages.read, uri)
        if data is not None:
            return data
        if self.cluster is None:
            raise LookupError(f"{uri} was never uploaded to this node")
        fetched = await self.cluster.request("get_package", uri)
        if fetched is None:
            raise LookupError(f"the head has no package {uri}")
        await asyncio.to_thread(self.packages.write, uri, fetched)
        return bytes(fetched)

    def _verb_shutdown(self) -> bool:
        self.loop.create_task(self.shutdown())
        return True



def _memory_bytes(session_dir: str) -> int:
    """The node's logical ``memory`` resource, as Ray sizes it: the memory available when the
    node starts, less what the object store may take (its default budget). Work that asks
    for ``memory=`` holds that much of it while it runs; nothing limits what it allocates."""
    usage = system_usage.memory()
    if usage is None or not usage["available"]:
        return 0
    store = default_capacity(os.path.join(paths.store_dir(session_dir), paths.USAGE_FILE))
    return max(0, usage["available"] - store)
