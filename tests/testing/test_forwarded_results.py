"""A task forwarded to another node whose result dies with its worker (or its node) after the
worker said it finished is run again, within its retries: the caller never waits forever."""

from __future__ import annotations

import time

import pytest
from cluster_helpers import local_cluster

import actorium
from actorium.testing import inject_faults, kill_node, kill_sender
from actorium.util import state
from actorium.util.scheduling_strategies import NodeAffinitySchedulingStrategy

pytestmark = [pytest.mark.multiprocess, pytest.mark.slow, pytest.mark.timeout(240)]


@actorium.remote(max_retries=3)
def record(path: str, i: int) -> int:
    with open(path, "a") as ledger:
        ledger.write(f"{i}\n")
    return i


def _other_node() -> str:
    return next(row["node_id"] for row in state.list_nodes()
                if not row["is_head"] and row["state"] == "ALIVE")


def test_results_lost_with_a_worker_of_another_node_are_run_again(tmp_path, no_runtime):
    # Every task worker dies as it sends its second result; the first result of a fresh
    # worker to a caller on another node waits for its TCP connection inside the worker, so
    # it dies with it after the worker told its node the task was done.
    with inject_faults(kill_sender("results", nth=2)), \
            local_cluster(str(tmp_path / "cluster"), [{"num_cpus": 1}, {"num_cpus": 1}]):
        actorium.init(address="auto")
        try:
            there = NodeAffinitySchedulingStrategy(node_id=_other_node(), soft=False)
            ledger = tmp_path / "ledger"
            refs = [record.options(scheduling_strategy=there).remote(str(ledger), i)
                    for i in range(6)]
            assert actorium.get(refs, timeout=120) == list(range(6))
            ran = [int(line) for line in ledger.read_text().split()]
            assert set(ran) == set(range(6))
            assert len(ran) > 6, "no worker was killed: the fault never fired"
        finally:
            actorium.shutdown()


@actorium.remote(max_retries=-1)
def slow_record(path: str, i: int) -> int:
    with open(path, "a") as ledger:
        ledger.write(f"{i}\n")
    time.sleep(0.01)
    return i


def test_tasks_of_a_killed_node_all_complete(tmp_path, no_runtime):
    with local_cluster(str(tmp_path / "cluster"), [{"num_cpus": 1}, {"num_cpus": 2}]):
        actorium.init(address="auto")
        try:
            other = _other_node()
            soft = NodeAffinitySchedulingStrategy(node_id=other, soft=True)
            ledger = tmp_path / "ledger"
            refs = [slow_record.options(scheduling_strategy=soft).remote(str(ledger), i)
                    for i in range(40)]
            deadline = time.monotonic() + 60
            while not ledger.exists() or len(ledger.read_text().split()) < 10:
                assert time.monotonic() < deadline, "the tasks never started"
                time.sleep(0.01)
            kill_node(other)
            assert actorium.get(refs, timeout=120) == list(range(40))
            assert set(int(line) for line in ledger.read_text().split()) == set(range(40))
        finally:
            actorium.shutdown()
