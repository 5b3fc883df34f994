"""Direct task submission: the caller leases task workers from its node and sends them tasks.

A task used to go to the node, wait in its queue, go on to a worker, and end with the worker
telling the node it was done: the node on the path of every task, twice. Here, as in Ray's
direct task submitter, a caller asks the node for a *lease* on a task worker for a shape of
task (its CPUs; ``LEASE_REQUEST``), and once granted (``LEASE_GRANTED``) sends tasks of that
shape straight to the worker (``EXECUTE_TASK``), whose results come straight back. The node
only sees the lease: it reserves the shape's resources for it, counts a task blocked in
``get()`` against it, and hears when it is given back (``TASK_FINISHED`` with the lease id).

Which tasks: those that ask for CPUs alone, with the default strategy, no runtime_env, no
``max_calls`` and a fixed number of returns. Everything else (GPUs, custom resources,
``memory``, placement groups, node affinity, SPREAD, runtime envs, generators) goes to the
node as before, as do all tasks of a runtime whose node refuses leases (a node of a cluster,
where the cluster link places each task).

What the lease holder does, in place of the node:

* **queueing and back-pressure**: tasks wait here until a lease is free; the frames are the
  ones that would have waited in the node's queue. More leases are asked for (a few at a time)
  while tasks wait, and the node grants them while it has resources.
* **pipelining**: one task in flight per lease while the node could grant more; when it says
  it has no room (a request it had to queue), up to ``PIPELINE`` per lease, so the worker
  never waits for the caller. If the running task blocks in ``get()``, the worker hands back
  the ones behind it (``REQUEUE``) and they go to another lease.
* **retries**: when a leased worker dies (``WORKER_DIED``), every task sent to it whose result
  has not come runs again: the first of them (the one that ran, or whose result was lost)
  if it has retries left (``max_retries``), else it fails with ``WorkerCrashedError``; those
  sent behind it had not started, and go out again without using a retry. The caller knows
  which results it got, so a result lost with the worker is retried too (the node's
  ``lost_results`` bookkeeping is for the tasks it dispatched itself).
* **cancel**: a waiting task fails here; a sent one is cancelled at its worker, and one that
  does not stop within ``CANCEL_GRACE`` has its worker ended by the node (``end_lease``).
* **returning**: a lease idle for ``IDLE_SECONDS`` is given back; a lease granted when no task
  waits any more is given back at once.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from actorium._core.ids import random_id
from actorium._transport.protocol import Kind, TaskStatus, pack
from actorium.exceptions import TaskCancelledError, WorkerCrashedError

if TYPE_CHECKING:
    from actorium._core.runtime import Runtime

# Tasks in flight per lease while the node has no room for more leases.
PIPELINE = 8
# Lease requests of one shape on their way at once.
MAX_ASKING = 4
# How long an idle lease is kept for the next task before it is given back.
IDLE_SECONDS = 0.05
# How long a cancelled task may take to stop before its worker is ended (as the node does).
CANCEL_GRACE = 2.0
# The node's answer to a lease request it queued for want of resources.
QUEUED = "queued"


def lease_shape(options: dict[str, Any], num_returns: int) -> float | None:
    """The shape a task is leased by (its CPUs), or None if it goes to the node."""
    if num_returns < 0 or options.get("num_gpus") or options.get("resources") or \
            options.get("memory") or options.get("max_calls") or options.get("runtime_env") \
            or options.get("strategy") not in (None, "DEFAULT") or "_origin" in options:
        return None
    cpus = options.get("num_cpus")
    return float(cpus) if cpus is not None else 1.0


class _Task:
    """A task this process submitted on the lease path, until its result comes."""

    __slots__ = ("task_id", "header", "buffers", "code", "lease", "cancelled", "shape",
                 "carried_code")

    def __init__(self, header: list[Any], buffers: list[Any], shape: _Shape) -> None:
        self.task_id: bytes = header[1]
        self.header = header
        self.buffers = buffers
        self.code: bytes | None = header[4]
        self.lease: Lease | None = None
        self.cancelled = False   # force-cancelled: its worker's death fails it, no retry
        self.shape = shape
        self.carried_code = False   # its frames carried its code (see LeaseTable._frames)


class Lease:
    """A task worker this process holds, and the tasks it sent there."""

    __slots__ = ("lease_id", "shape", "worker_id", "address", "inflight", "code_ids",
                 "idle_since", "timer", "blocked")

    def __init__(self, lease_id: bytes, shape: _Shape, worker_id: bytes, address: str) -> None:
        self.lease_id = lease_id
        self.shape = shape
        self.worker_id = worker_id
        self.address = address
        self.inflight: dict[bytes, _Task] = {}
        self.code_ids: set[bytes] = set()
        self.idle_since = time.monotonic()
        self.timer = False
        self.blocked = False   # its running task blocked in get(): nothing more behind it


class _Shape:
    """The tasks of one shape: those waiting, the leases, the requests on their way."""

    __slots__ = ("cpus", "pending", "leases", "asking", "queued", "refused")

    def __init__(self, cpus: float) -> None:
        self.cpus = cpus
        self.pending: deque[_Task] = deque()
        self.leases: list[Lease] = []
        self.asking = 0     # requests sent, not answered with a lease
        self.queued = 0     # of those, how many the node queued for want of resources
        self.refused = False

    def depth(self, lease: Lease) -> int:
        return 1 if lease.blocked or not self.queued else PIPELINE


class LeaseTable:
    """The leases of one process (``Runtime.leases``); any thread submits, the loop answers."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.lock = threading.Lock()
        self.shapes: dict[float, _Shape] = {}
        self.tasks: dict[bytes, _Task] = {}
        self.leases: dict[bytes, Lease] = {}
        self.asked: dict[bytes, _Shape] = {}      # lease request id -> its shape
        self.queued_ids: set[bytes] = set()       # requests the node queued for resources
        self.worker_code: dict[bytes, set[bytes]] = {}   # worker id -> code ids sent to it
        self.granted = 0   # leases granted so far (the tests read it)
        runtime.register_handler(Kind.LEASE_GRANTED, self._on_granted)
        self._next_worker_died = runtime._handlers[Kind.WORKER_DIED]
        runtime.register_handler(Kind.WORKER_DIED, self._on_worker_died)

    # ------------------------------------------------------------------ submitting
    def submit(self, header: list[Any], buffers: list[Any]) -> bool:
        """Send the task on a lease (or keep it until one comes); False: not leased."""
        cpus = lease_shape(header[10], header[11])
        if cpus is None:
            return False
        with self.lock:
            shape = self.shapes.get(cpus)
            if shape is None:
                shape = self.shapes[cpus] = _Shape(cpus)
            if shape.refused:
                return False
            task = _Task(header, buffers, shape)
            self.tasks[task.task_id] = task
            shape.pending.append(task)
            sends = self._place(shape)
        self._send_all(sends)
        return True

    def _place(self, shape: _Shape) -> list[tuple[str, list[Any]]]:
        """Give waiting tasks to leases with room, ask for more leases (lock held)."""
        sends: list[tuple[str, list[Any]]] = []
        pending = shape.pending
        while pending and shape.leases:
            lease = min(shape.leases, key=lambda held: len(held.inflight))
            if len(lease.inflight) >= shape.depth(lease):
                break
            task = pending.popleft()
            task.lease = lease
            lease.inflight[task.task_id] = task
            sends.append((lease.address, self._frames(task, lease)))
        wanted = min(len(pending), MAX_ASKING)
        while not shape.queued and shape.asking < wanted:
            shape.asking += 1
            lease_id = random_id(16)
            self.asked[lease_id] = shape
            options: dict[str, Any] = {"num_cpus": shape.cpus}
            sends.append((self.runtime.node_address, [pack(
                [Kind.LEASE_REQUEST, lease_id, self.runtime.address, b"", None, "lease", 0, b"",
                 0, [], options, 0, 0, False])]))
        return sends

    @staticmethod
    def _frames(task: _Task, lease: Lease) -> list[Any]:
        """The task's EXECUTE_TASK, with its code until a result says the worker has it.

        Sending the code once is not enough: the frames are sent after the lock is let go,
        and from whichever thread placed the task (each thread has its own socket to the
        worker), so a later task without the code can reach the worker first ("code ...
        was never sent to this worker"). ``lease.code_ids`` holds only the code the worker
        surely has: that of a task whose frames carried it and whose result came back.
        """
        header = list(task.header)
        header[0] = Kind.EXECUTE_TASK
        code_id: bytes = header[3]
        if code_id in lease.code_ids:
            header[4] = None
        else:
            task.carried_code = True
        header[10] = {**header[10], "lease": lease.lease_id}
        return [pack(header), *task.buffers]

    def _send_all(self, sends: list[tuple[str, list[Any]]]) -> None:
        outbox = self.runtime.outbox
        for address, frames in sends:
            outbox.send(address, frames)

    # ------------------------------------------------------------------ the node's answers
    def _on_granted(self, header: list[Any], _buffers: list[Any]) -> None:
        _, lease_id, worker_id, address, reason = header[:5]
        fallback: list[_Task] = []
        sends: list[tuple[str, list[Any]]] = []
        give_back = False
        with self.lock:
            shape = self.asked.get(lease_id)
            if shape is None:
                give_back = address is not None   # not asked by us (any more): return it
            elif address is None and reason == QUEUED:
                # It waits for resources: pipeline on the leases we have meanwhile.
                self.queued_ids.add(lease_id)
                shape.queued += 1
                sends = self._place(shape)
            else:
                del self.asked[lease_id]
                shape.asking -= 1
                if lease_id in self.queued_ids:
                    self.queued_ids.discard(lease_id)
                    shape.queued -= 1
                if address is None:
                    # Refused (a node of a cluster): this shape's tasks go to the node.
                    shape.refused = True
                    fallback = list(shape.pending)
                    shape.pending.clear()
                    for task in fallback:
                        del self.tasks[task.task_id]
                else:
                    lease = Lease(lease_id, shape, worker_id, address)
                    self.granted += 1
                    # The code a worker has, whichever lease of ours brought it.
                    lease.code_ids = self.worker_code.setdefault(worker_id, set())
                    self.leases[lease_id] = lease
                    shape.leases.append(lease)
                    sends = self._place(shape)
                    if not lease.inflight:   # asked for tasks that others took meanwhile
                        self._forget(lease)
                        give_back = True
        if give_back:
            self.runtime.send(self.runtime.node_address, [Kind.TASK_FINISHED, lease_id])
        self._send_all(sends)
        for task in fallback:
            self.runtime.send_to_node(task.header, task.buffers)

    def _forget(self, lease: Lease) -> None:
        self.leases.pop(lease.lease_id, None)
        if lease in lease.shape.leases:
            lease.shape.leases.remove(lease)

    # ------------------------------------------------------------------ results
    def on_result(self, task_id: bytes, status: int) -> bool:
        """A result of a leased task came (loop thread). True: it was handed back unrun
        (``REQUEUE``) and goes out again, so there is no result to complete."""
        with self.lock:
            task = self.tasks.get(task_id)
            if task is None or task.lease is None:
                return False
            lease = task.lease
            lease.inflight.pop(task_id, None)
            if task.carried_code:   # the worker keeps code as it arrives, run or not
                lease.code_ids.add(task.header[3])
                task.carried_code = False
            shape = task.shape
            requeued = status == TaskStatus.REQUEUE
            if requeued:
                lease.blocked = True
                task.lease = None
                shape.pending.appendleft(task)
            else:
                del self.tasks[task_id]
            if not lease.inflight:
                lease.blocked = False
            sends = self._place(shape)
            if not lease.inflight and lease.lease_id in self.leases:
                lease.idle_since = time.monotonic()
                if not lease.timer:
                    lease.timer = True
                    self._arm(lease, IDLE_SECONDS)
        self._send_all(sends)
        return requeued

    def _arm(self, lease: Lease, delay: float) -> None:
        loop = self.runtime.loop
        if loop is not None:
            loop.call_later(delay, self._maybe_return, lease)

    def _maybe_return(self, lease: Lease) -> None:
        with self.lock:
            if lease.lease_id not in self.leases:
                lease.timer = False
                return
            idle_for = time.monotonic() - lease.idle_since
            if lease.inflight:
                lease.timer = False   # armed again when it is idle next
                return
            if idle_for < IDLE_SECONDS:
                self._arm(lease, IDLE_SECONDS - idle_for)
                return
            lease.timer = False
            self._forget(lease)
        self.runtime.send(self.runtime.node_address, [Kind.TASK_FINISHED, lease.lease_id])

    # ------------------------------------------------------------------ failures
    def _on_worker_died(self, header: list[Any], buffers: list[Any]) -> None:
        worker_id, reason = header[1], header[3]
        failed: list[tuple[_Task, BaseException]] = []
        sends: list[tuple[str, list[Any]]] = []
        with self.lock:
            self.worker_code.pop(worker_id, None)
            for lease in [held for held in self.leases.values() if held.worker_id == worker_id]:
                self._forget(lease)
                shape = lease.shape
                # In the order they were sent, first in line again. Only the first can have
                # run: a worker starts a leased task once it has sent the result of the one
                # before. So only it uses a retry; the others never started.
                sent = list(lease.inflight.values())
                for task in reversed(sent):
                    task.lease = None
                    retries = task.header[12] if task is sent[0] else -1
                    name = task.header[5]
                    if task.cancelled:
                        failed.append((task, TaskCancelledError(
                            f"task {name} was cancelled (its worker was ended: force=True, or "
                            f"it did not stop within {CANCEL_GRACE:g} s)")))
                    elif retries != 0:
                        if retries > 0:
                            task.header[12] = retries - 1
                        shape.pending.appendleft(task)
                    else:
                        failed.append((task, WorkerCrashedError(
                            f"task {name} failed: its worker {reason}; no retries left")))
                lease.inflight.clear()
                sends.extend(self._place(shape))
            for task, _error in failed:
                self.tasks.pop(task.task_id, None)
        self._send_all(sends)
        for task, error in failed:
            self._fail(task, error)
        self._next_worker_died(header, buffers)

    def _fail(self, task: _Task, error: BaseException) -> None:
        header = task.header
        self.runtime._fail_call(task.task_id, header[11], error)
        # Counted refs among its arguments that no live worker holds: give them back, as
        # the node does for a task that never ran.
        for object_id, owner, counted, _inline in header[9] or ():
            if counted:
                self.runtime.send(owner, [Kind.RELEASE_OBJECT, object_id, 1])

    # ------------------------------------------------------------------ cancel
    def cancel(self, task_id: bytes, force: bool) -> bool:
        """Cancel a task of the lease path (False: not one of them; does not wait)."""
        with self.lock:
            task = self.tasks.get(task_id)
            if task is None:
                return False
            lease = task.lease
            if lease is None:   # still waiting here: it never runs
                task.shape.pending.remove(task)
                del self.tasks[task_id]
            else:
                task.cancelled = task.cancelled or force
        if lease is None:
            self._fail(task, TaskCancelledError(f"task {task.header[5]} was cancelled"))
            return True
        self.runtime.send(lease.address, [Kind.CANCEL_TASK, task_id, force, None])
        loop = self.runtime.loop
        if not force and loop is not None:
            loop.call_soon_threadsafe(loop.call_later, CANCEL_GRACE, self._end_if_running,
                                      task, lease)
        return True

    def _end_if_running(self, task: _Task, lease: Lease) -> None:
        """A cancelled task that did not stop: its worker is ended, as ``force=True`` would."""
        with self.lock:
            if task.lease is not lease or self.tasks.get(task.task_id) is not task:
                return
            task.cancelled = True
        self.runtime.notify_node("end_lease", lease.lease_id)
