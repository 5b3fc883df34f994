"""Tasks go on worker leases (``actorium/_core/leases.py``): the caller leases a task worker from
its node for a shape of task and sends tasks straight to it. What the tests check is the
lease's life as the caller sees it: granted, reused by the next tasks, given back when idle
(its CPU is free again), revoked when its worker dies (the tasks sent there run again or
fail as their ``max_retries`` says), and refused on a node of a cluster, whose tasks still
run across the nodes."""

from __future__ import annotations

import os
import time

import pytest
from cluster_helpers import local_cluster
from polling import eventually

import actorium
from actorium._core.context import current_runtime
from actorium.exceptions import WorkerCrashedError


@actorium.remote
def pid() -> int:
    return os.getpid()


@actorium.remote(max_retries=0)
def dies_once(marker: str) -> int:
    """Kills its worker the first time it runs (the marker file says it ran)."""
    if not os.path.exists(marker):
        open(marker, "w").close()
        time.sleep(1.0)   # long enough for the test to see its lease
        os._exit(1)
    return os.getpid()


@actorium.remote(max_retries=0)
def dies() -> None:
    os._exit(1)


@actorium.remote(max_retries=0)
def slow(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def _table():
    table = current_runtime().leases
    assert table is not None
    return table


@pytest.mark.timeout(120)
def test_tasks_reuse_a_few_leases_and_give_them_back_when_idle(start_runtime):
    start_runtime(num_cpus=2)
    pids = actorium.get([pid.remote() for _ in range(200)], timeout=60)
    table = _table()
    # 200 tasks, two CPUs: a handful of leases carried them all, on at most two workers
    # at a time (the node granted no more than its CPUs).
    assert len(set(pids)) <= 2
    assert table.granted <= 8
    # Idle leases go back to the node: its CPUs are free again.
    eventually(lambda: not table.leases, timeout=30)
    eventually(lambda: actorium.available_resources().get("CPU") == 2.0, timeout=30)
    # The next task asks for a lease again, and gets a worker of the node's pool.
    before = table.granted
    assert actorium.get(pid.remote(), timeout=60) > 0
    assert table.granted > before


@pytest.mark.timeout(120)
def test_a_lease_whose_worker_dies_is_revoked_and_its_tasks_run_elsewhere(start_runtime,
                                                                          tmp_path):
    start_runtime(num_cpus=1)
    marker = str(tmp_path / "ran")
    # One CPU: the first task and those behind it share one leased worker, which dies
    # under the first. With max_retries=0 it fails; the others had not started and run on
    # the next lease, using no retry.
    first = dies_once.remote(marker)
    behind = [pid.options(max_retries=0).remote() for _ in range(5)]
    table = _table()
    leased = eventually(lambda: {lease.worker_id for lease in list(table.leases.values())},
                        timeout=60)
    with pytest.raises(WorkerCrashedError, match="no retries left"):
        actorium.get(first, timeout=60)
    survivors = actorium.get(behind, timeout=60)
    assert len(set(survivors)) == 1
    # The lease on the dead worker is gone; any lease held now is on another worker.
    assert not leased & {lease.worker_id for lease in list(table.leases.values())}
    # A task with a retry that kills its worker runs again on a new lease and succeeds.
    again = dies_once.options(max_retries=1)
    os.remove(marker)
    assert actorium.get(again.remote(marker), timeout=60) != survivors[0]
    with pytest.raises(WorkerCrashedError):
        actorium.get(dies.remote(), timeout=60)


@pytest.mark.timeout(120)
def test_an_actor_created_while_leases_hold_every_cpu_starts_once_they_are_given_back(
        start_runtime):
    # Ray's Queue guide does this: tasks end, then an actor reserving a CPU is created at
    # once, while the tasks' idle leases still hold both CPUs. Giving a lease back must place
    # it (it waited forever: only worker deaths re-placed waiting actors).
    start_runtime(num_cpus=2)

    @actorium.remote(num_cpus=1)
    class Holder:
        def ping(self) -> str:
            return "pong"

    actorium.get([slow.remote(0.2) for _ in range(4)], timeout=60)
    holder = Holder.remote()
    assert actorium.get(holder.ping.remote(), timeout=30) == "pong"


@pytest.mark.timeout(120)
def test_cancelling_a_leased_task_stops_it_and_frees_the_lease(start_runtime):
    start_runtime(num_cpus=1)
    running = slow.remote(3600)
    waiting = slow.remote(0)
    eventually(lambda: _table().leases, timeout=60)
    actorium.cancel(waiting)       # waiting behind the running one: it never runs
    with pytest.raises(actorium.exceptions.TaskCancelledError):
        actorium.get(waiting, timeout=60)
    actorium.cancel(running, force=True)
    with pytest.raises(actorium.exceptions.TaskCancelledError):
        actorium.get(running, timeout=60)
    assert actorium.get(slow.remote(0), timeout=60) > 0


@pytest.mark.timeout(120)
def test_a_task_blocked_in_get_hands_back_the_tasks_behind_it(start_runtime):
    start_runtime(num_cpus=1)

    @actorium.remote
    def parent() -> int:
        return sum(actorium.get([pid.remote() for _ in range(4)]))

    # Parents queued behind a parent on one lease would wait for it while it waits for its
    # children: the worker hands them back when it blocks, and they run elsewhere.
    assert len(actorium.get([parent.remote() for _ in range(4)], timeout=90)) == 4


@pytest.mark.timeout(240)
def test_a_node_of_a_cluster_refuses_leases_and_tasks_run_across_nodes(tmp_path, no_runtime):
    with local_cluster(str(tmp_path / "cluster"), [{"num_cpus": 1}, {"num_cpus": 1}]):
        actorium.init(address="auto")
        try:

            @actorium.remote
            def node_of(seconds: float) -> str:
                time.sleep(seconds)
                return actorium.get_runtime_context().get_node_id()

            nodes = actorium.get([node_of.remote(1.0) for _ in range(4)], timeout=120)
            assert len(set(nodes)) == 2
            table = _table()
            assert not table.leases and all(shape.refused for shape in table.shapes.values())
        finally:
            actorium.shutdown()
