"""The node's task queue: waits for free resources and an idle task worker, then dispatches.

A submitted task is forwarded to a worker as the same frames it arrived in (only the header's
kind and the code field change), so the node never unpickles user data. A worker runs one task
at a time. A task blocked in ``get()`` gives its CPU back, and the node may start an extra
worker so that nested tasks cannot deadlock the pool.

Leases (``LEASE_REQUEST``): most tasks do not come here one by one. A caller asks for a lease
on a task worker for a shape of task (its CPUs); the request waits in the same queue as tasks
and is granted like a task is dispatched (resources reserved, an idle worker marked busy), but
the worker is handed to the caller (``LEASE_GRANTED``), which then sends it tasks itself until
it returns the lease (``TASK_FINISHED`` with the lease id). While leased, the worker's "task"
here is the lease: blocking in ``get()``, the worker's death and the owner's death act on it
as on a task, but retries, cancellation and results are the holder's business
(``_core/leases.py``). The node stays the authority on resources and workers.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

from actorium._core.accelerators import GPU, gpu_amount
from actorium._core.resources import demand_of, in_bundles
from actorium._node.workers import WorkerInfo, WorkerKind, WorkerState
from actorium._transport import serialization
from actorium._transport.protocol import Kind, TaskStatus
from actorium.exceptions import (
    NodeDiedError,
    TaskCancelledError,
    TaskPlacementGroupRemoved,
    WorkerCrashedError,
)

if TYPE_CHECKING:
    from actorium._node.node import Node

# How far down the queue to look for a task that fits when the head does not.
_SCAN_LIMIT = 64
# At most this many task workers per CPU (for tasks reserving a fraction of a CPU or none).
_EXTRA_WORKER_FACTOR = 4
# A finished task's result can still be inside its worker when the worker dies: ZeroMQ keeps
# a message in the sending process until its connection is up (a fresh worker's first result
# to a caller waits for the connect), while TASK_FINISHED to the node goes out on a connection
# that is up already. So the node keeps the last few finished tasks (with retries) of each
# worker; when the worker dies their owners are asked which results never came, and those
# tasks run again (see ``lost_results``). Unanswered, the node forgets them after a while.
_RECENT_PER_WORKER = 8
# With reliable links (``_transport/links``) a lost result waits in its worker to be resent,
# up to a second or more, while the worker runs on: keep more of them.
_RECENT_PER_WORKER_RESENDING = 512
_UNCONFIRMED_SECONDS = 60.0
# How long a cancelled task may take to stop before its worker is ended.
CANCEL_GRACE = 2.0


def _cpus_of(demand: dict[str, float]) -> dict[str, float]:
    """The CPU part of a demand (plain or a bundle's): what a task blocked in ``get()``
    lends back, as in Ray. Its GPUs, memory and custom resources stay held."""
    return {name: amount for name, amount in demand.items()
            if name == "CPU" or name.startswith("CPU_group_")}


def _held(task: QueuedTask, worker: WorkerInfo) -> dict[str, float]:
    """What a running task holds now: all it asked for, less the CPUs it lent while blocked."""
    if not worker.blocked:
        return task.demand
    lent = _cpus_of(task.demand)
    return {name: amount for name, amount in task.demand.items() if name not in lent}


class QueuedTask:
    """A task as the node holds it: its frames and what it needs."""

    __slots__ = ("task_id", "owner", "header", "buffers", "demand", "retries_left", "worker",
                 "name", "cancelled", "doomed", "env", "env_hash", "gpus", "gpu_ids",
                 "max_calls", "events", "lease")

    def __init__(self, header: list[Any], buffers: list[Any], *, lease: bool = False) -> None:
        self.task_id: bytes = header[1]
        self.owner: str = header[2]
        self.name: str = header[5]
        self.header = header
        self.buffers = buffers
        self.demand = demand_of(header[10])
        self.retries_left: int = header[12]
        self.worker: WorkerInfo | None = None
        self.cancelled = False
        # Set when the node ends the task's worker on purpose: the error the task fails with
        # when the worker's death is seen (no retry).
        self.doomed: BaseException | None = None
        # Its runtime environment: only a worker set up for it may run it.
        self.env: dict[str, Any] | None = header[10].get("runtime_env")
        self.env_hash: str = self.env["hash"] if self.env else ""
        # GPUs: how much, the ids given at dispatch; and how many tasks of its function a
        # worker may run before it is replaced (0: no limit; GPU tasks default to 1, as Ray).
        self.gpus = gpu_amount(self.demand)
        self.gpu_ids: list[str] = []
        calls = header[10].get("max_calls")
        self.max_calls: int = (1 if self.gpus else 0) if calls is None else calls
        # enable_task_events=False: the state API does not list it (as in Ray).
        self.events: bool = header[10].get("events", True)
        # A lease request (granted: the lease itself), not a task: nothing here runs it.
        self.lease = lease
        if lease:
            self.events = False
            self.retries_left = 0


class TaskScheduler:
    """FIFO-with-skipping dispatch of tasks to task workers."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.queue: deque[QueuedTask] = deque()
        self.running: dict[bytes, QueuedTask] = {}
        self._scheduled = False
        # worker id -> its last finished tasks with retries left (their results may be lost
        # with it); task id -> such a task of a dead worker, until its owner answers.
        self._recent: dict[bytes, deque[QueuedTask]] = {}
        self._recent_limit = (_RECENT_PER_WORKER_RESENDING if "links" in vars(node.outbox)
                              else _RECENT_PER_WORKER)
        self._unconfirmed: dict[bytes, QueuedTask] = {}

    def submit(self, header: list[Any], buffers: list[Any]) -> None:
        task = QueuedTask(header, buffers)
        cluster = self.node.cluster
        if cluster is not None:
            try:
                busy = bool(self.queue) or not self.node.resources.fits(task.demand)
                target = cluster.target_for(header[10], task.demand, busy)
            except ValueError as exc:
                self._fail(task, ValueError(f"task {task.name} cannot be scheduled: {exc}"))
                return
            if target is not None:
                cluster.forward_task(task, target)
                return
        if not self.node.resources.feasible(task.demand):
            self._fail(task, ValueError(
                f"task {task.name} can never run on this node: it needs "
                f"{self.node.resources.describe(task.demand)}"))
            return
        self.queue.append(task)
        self.schedule_soon()

    def request_lease(self, header: list[Any]) -> None:
        """A caller asks for a task worker for tasks of this shape: queue it like a task.

        Refused (the caller then submits its tasks here one by one) on a node of a cluster,
        where the cluster link places each task, and when the shape could never run here."""
        lease = QueuedTask(header, [], lease=True)
        if self.node.cluster is not None:
            self._answer(lease, "this node is part of a cluster")
        elif lease.gpus or lease.env or lease.max_calls or \
                set(lease.demand) - {"CPU"}:
            self._answer(lease, "only tasks that ask for CPUs alone are leased")
        elif not self.node.resources.feasible(lease.demand):
            self._answer(lease, "the node cannot run it")
        else:
            self.queue.append(lease)
            self.schedule_soon()
            if not self.node.resources.fits(lease.demand):
                # It waits for resources: the caller pipelines on the leases it holds.
                self._answer(lease, "queued")

    def _answer(self, lease: QueuedTask, reason: str) -> None:
        self.node.send(lease.owner, [Kind.LEASE_GRANTED, lease.task_id, None, None, reason])

    def end_lease(self, lease_id: bytes) -> None:
        """The holder gives up on its leased worker (a cancelled task did not stop): end it."""
        lease = self.running.get(lease_id)
        if lease is not None and lease.lease and lease.worker is not None:
            process = lease.worker.process
            if process is not None and process.returncode is None:
                process.kill()

    def schedule_soon(self) -> None:
        if not self._scheduled:
            self._scheduled = True
            self.node.loop.call_soon(self._schedule)

    def _schedule(self) -> None:
        self._scheduled = False
        node = self.node
        resources = node.resources
        # Idle task workers by runtime environment ("" is the node's own).
        idle: dict[str, list[WorkerInfo]] = {}
        for w in node.workers.values():
            if w.kind is WorkerKind.TASK and w.state is WorkerState.IDLE:
                idle.setdefault(w.env_hash, []).append(w)
        scanned = 0
        index = 0
        while index < len(self.queue) and scanned < _SCAN_LIMIT:
            task = self.queue[index]
            if not resources.fits(task.demand) or (task.gpus and
                                                   not node.gpus.can_take(task.gpus)):
                index += 1
                scanned += 1
                continue
            if not idle:
                break
            workers = idle.get(task.env_hash)
            if not workers:
                index += 1   # waits for a worker of its environment
                scanned += 1
                continue
            del self.queue[index]
            self._dispatch(task, workers.pop())
            if not workers:
                del idle[task.env_hash]
        if self.queue:
            self._grow_pool_if_useful()

    def _grow_pool_if_useful(self) -> None:
        """Start another task worker if a queued task fits but every worker of its runtime
        environment is taken (at most one starting per environment at a time)."""
        node = self.node
        task_workers = [w for w in node.workers.values() if w.kind is WorkerKind.TASK
                        and w.state is not WorkerState.DEAD]
        starting = {w.env_hash for w in task_workers if w.state is WorkerState.STARTING}
        blocked = sum(w.blocked for w in task_workers)
        # Fractional or zero-CPU tasks can run more tasks than CPUs; extra workers retire
        # when idle. The cap keeps a flood of zero-CPU tasks from forking without bound.
        limit = max(node.pool_size + blocked, _EXTRA_WORKER_FACTOR * node.pool_size)
        wanted: dict[str, dict[str, Any] | None] = {}
        for task in list(self.queue)[:_SCAN_LIMIT]:
            if task.env_hash not in starting and node.resources.fits(task.demand):
                wanted.setdefault(task.env_hash, task.env)
        for env_hash, env in wanted.items():
            if len(task_workers) >= limit and not self._make_room(task_workers, env_hash):
                break
            task_workers.append(node.start_worker(WorkerKind.TASK, env=env))

    def _make_room(self, task_workers: list[WorkerInfo], env_hash: str) -> bool:
        """Stop an idle worker of another environment to start one of ``env_hash``."""
        others = [w for w in task_workers if w.state is WorkerState.IDLE
                  and w.env_hash != env_hash and w.env_hash and not self.node.owns_actors(w)]
        if not others:
            return False
        victim = others[0]
        self.node.retire_idle_env_worker(victim)
        task_workers.remove(victim)
        return True

    def _dispatch(self, task: QueuedTask, worker: WorkerInfo) -> None:
        self.node.resources.acquire(task.demand)
        header = list(task.header)
        if task.gpus:
            task.gpu_ids = self.node.gpus.take(task.gpus) or []
            header[10] = {**header[10], "accelerator_ids": {GPU: task.gpu_ids}}
        if worker.idle_timer is not None:
            worker.idle_timer.cancel()
            worker.idle_timer = None
        worker.state = WorkerState.BUSY
        worker.task = task
        task.worker = worker
        self.running[task.task_id] = task
        if task.lease:
            self.node.send(task.owner, [Kind.LEASE_GRANTED, task.task_id, worker.worker_id,
                                        worker.address, ""])
            return
        header[0] = Kind.EXECUTE_TASK
        self.node.send_code_aware(worker, header, 3, 4, task.buffers)

    def finished(self, task_id: bytes) -> None:
        task = self.running.pop(task_id, None)
        if task is None:
            if self.node.cluster is not None:   # a task we forwarded is done elsewhere
                self.node.cluster.forwarded_finished(task_id)
            return
        origin = task.header[10].get("_origin")
        if origin is not None:
            self.node.send(origin, [Kind.TASK_FINISHED, task_id])
        worker = task.worker
        self._give_gpus(task)
        if worker is not None and task.retries_left != 0 and not task.cancelled:
            recent = self._recent.get(worker.worker_id)
            if recent is None:
                recent = self._recent[worker.worker_id] = deque(maxlen=self._recent_limit)
            recent.append(task)
        if worker is not None and worker.task is task:
            self.node.resources.release(_held(task, worker))
            worker.blocked = False
            worker.task = None
            if worker.state is WorkerState.BUSY:
                worker.state = WorkerState.IDLE
            if self._used_up(worker, task):
                self.node.retire(worker)
            else:
                self.node.retire_extra_worker(worker)
            # An actor may wait for these resources (a task or lease held them when it was
            # created): it is placed now, not at some later unrelated release.
            self.node.actors.resources_freed()
        self.schedule_soon()

    def _give_gpus(self, task: QueuedTask) -> None:
        if task.gpu_ids:
            self.node.gpus.give(task.gpu_ids, task.gpus)
            task.gpu_ids = []

    @staticmethod
    def _used_up(worker: WorkerInfo, task: QueuedTask) -> bool:
        """Has the worker run ``max_calls`` tasks of this task's function?"""
        if not task.max_calls:
            return False
        code_id: bytes = task.header[3]
        worker.calls[code_id] = done = worker.calls.get(code_id, 0) + 1
        return done >= task.max_calls

    def blocked(self, worker: WorkerInfo, is_blocked: bool) -> None:
        task = worker.task
        if task is None or worker.blocked == is_blocked:
            return
        worker.blocked = is_blocked
        if is_blocked:
            self.node.resources.release(_cpus_of(task.demand))
            self.node.actors.resources_freed()
        else:
            self.node.resources.acquire(_cpus_of(task.demand))
        self.schedule_soon()

    def unconfirmed_of(self, worker: WorkerInfo) -> dict[str, list[bytes]]:
        """The dead ``worker``'s recently finished tasks whose results may have died with it,
        by owner: the node asks each owner which of them it never got (``lost_results``)."""
        recent = self._recent.pop(worker.worker_id, None)
        by_owner: dict[str, list[bytes]] = {}
        for task in recent or ():
            self._unconfirmed[task.task_id] = task
            self.node.loop.call_later(_UNCONFIRMED_SECONDS, self._unconfirmed.pop,
                                      task.task_id, None)
            by_owner.setdefault(task.owner, []).append(task.task_id)
        return by_owner

    def lost_results(self, task_ids: list[bytes]) -> None:
        """An owner never got these results of a dead worker's tasks: run them again, each
        using one of its retries (its worker died, as far as the owner can tell)."""
        for task_id in task_ids:
            task = self._unconfirmed.pop(task_id, None)
            if task is None and self.node.cluster is not None:
                # Forwarded, and finished on another node: placed again from here.
                forwarded = self.node.cluster.take_forwarded(task_id)
                if forwarded is not None:
                    self.forwarded_task_lost(forwarded, "its result was lost with the worker "
                                                        "that ran it", node_died=False)
                continue
            if task is None or task.retries_left == 0:
                continue
            task.retries_left -= 1
            task.header[12] = task.retries_left
            task.worker = None
            self.queue.appendleft(task)
        self.schedule_soon()

    def worker_died(self, worker: WorkerInfo, reason: str) -> None:
        task = worker.task
        if task is None:
            return
        self.running.pop(task.task_id, None)
        self._give_gpus(task)
        self.node.resources.release(_held(task, worker))
        worker.task = None
        if task.lease:
            # Its holder hears WORKER_DIED too, and retries or fails what it had sent there.
            self.schedule_soon()
            return
        if task.doomed is not None:
            self._fail(task, task.doomed)
        elif task.cancelled:
            self._fail(task, TaskCancelledError(f"task {task.name} was cancelled (its worker "
                                                f"was ended: force=True, or it did not stop "
                                                f"within {CANCEL_GRACE:g} s)"))
        elif task.retries_left != 0:
            task.retries_left -= 1
            task.header[12] = task.retries_left
            task.worker = None
            self.queue.appendleft(task)
        else:
            self._fail(task, WorkerCrashedError(
                f"task {task.name} failed: its {worker.label} {reason}; no retries left"))
        self.schedule_soon()

    def forwarded_task_lost(self, task: QueuedTask, reason: str, *,
                            node_died: bool = True) -> None:
        """A task forwarded to a node that died: run it again (retries) or fail it, with
        ``NodeDiedError`` as in Ray (``WorkerCrashedError`` if only its worker was lost)."""
        if task.retries_left != 0:
            task.retries_left -= 1
            task.header[12] = task.retries_left
            self.submit(task.header, task.buffers)
        else:
            error = NodeDiedError if node_died else WorkerCrashedError
            self._fail(task, error(f"task {task.name} failed: {reason}; no retries left"))

    def reap_owned(self, owner: str, reason: str) -> None:
        """The process that submitted these tasks is gone: queued ones never run, running
        ones are stopped (their workers ended; no retry), as Ray does for a dead owner."""
        for task in [t for t in self.queue if t.owner == owner]:
            self.queue.remove(task)
            if not task.lease:
                self._fail(task, TaskCancelledError(f"task {task.name} was cancelled: {reason}"))
        for task in [t for t in self.running.values() if t.owner == owner]:
            worker = task.worker
            task.cancelled = True
            if worker is not None and worker.process is not None \
                    and worker.process.returncode is None:
                worker.process.kill()

    def env_failed(self, env_hash: str, error: BaseException) -> None:
        """The runtime environment could not be set up: its queued tasks fail (no retry)."""
        for task in [t for t in self.queue if t.env_hash == env_hash]:
            self.queue.remove(task)
            self._fail(task, error)

    def placement_group_removed(self, group: str, bundles: list[int] | None, why: str) -> None:
        """Bundles of ``group`` were released here: queued tasks that can no longer run fail,
        and tasks running in those bundles are stopped (their workers ended), as Ray kills
        them. Both fail with TaskPlacementGroupRemoved and are not retried: no bundle is left
        to retry them in."""
        resources = self.node.resources
        for task in [t for t in self.queue if not resources.feasible(t.demand)]:
            self.queue.remove(task)
            self._fail(task, TaskPlacementGroupRemoved(f"task {task.name} can no longer run: "
                                                       f"{why}"))
        for task in self.running.values():
            worker = task.worker
            if not in_bundles(task.header[10], group, bundles) or worker is None:
                continue
            task.doomed = TaskPlacementGroupRemoved(f"task {task.name} was stopped while it "
                                                    f"ran: {why}")
            if worker.process is not None and worker.process.returncode is None:
                worker.process.kill()

    def cancel(self, task_id: bytes, force: bool) -> None:
        for task in self.queue:
            if task.task_id == task_id:
                self.queue.remove(task)
                self._fail(task, TaskCancelledError(f"task {task.name} was cancelled"))
                return
        running = self.running.get(task_id)
        if running is not None and running.worker is not None:
            running.cancelled = force
            self.node.send_to_worker(running.worker, [Kind.CANCEL_TASK, task_id, force, None], [])
            if not force:
                self.node.loop.call_later(CANCEL_GRACE, self._end_if_still_running, running,
                                          running.worker)

    def _end_if_still_running(self, task: QueuedTask, worker: WorkerInfo) -> None:
        """A cancelled task that did not stop: end its worker, as ``force=True`` would.

        The exception thrown into the task's thread takes effect only between bytecodes, so a
        task blocked in C (``time.sleep``, a socket read) would not stop until that call
        returns (Ray interrupts such a task: its doc program cancels a ten-day sleep).
        """
        if self.running.get(task.task_id) is not task or task.worker is not worker:
            return  # it stopped (or its worker already died): nothing to do
        task.cancelled = True
        if worker.process is not None and worker.process.returncode is None:
            worker.process.kill()

    def _fail(self, task: QueuedTask, error: BaseException) -> None:
        data = serialization.dumps(error)[1]
        count = max(task.header[11], 1)
        self.node.send(task.owner, [Kind.TASK_RESULT, task.task_id, TaskStatus.ERROR,
                                    [[serialization.PICKLE, data, 0]] * count, []])
        # The counted refs among its arguments were taken by no live worker (the task never
        # ran, or its worker died holding them): give them back, so their objects can be freed.
        for object_id, owner, counted, _inline in task.header[9] or ():
            if counted:
                self.node.send(owner, [Kind.RELEASE_OBJECT, object_id, 1])
