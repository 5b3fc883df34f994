"""kill_node(): a whole node dies at the moment the test says, as a crashed machine would."""

from __future__ import annotations

import os
import time

import pytest
from cluster_helpers import local_cluster

import actorium
from actorium.exceptions import ActorDiedError
from actorium.testing import kill_node, node_pid
from actorium.util import state
from actorium.util.scheduling_strategies import NodeAffinitySchedulingStrategy

pytestmark = [pytest.mark.multiprocess, pytest.mark.slow, pytest.mark.timeout(180)]


@actorium.remote
class Locator:
    def where(self) -> str:
        return actorium.get_runtime_context().get_node_id()

    def pid(self) -> int:
        return os.getpid()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _wait(condition, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def test_a_killed_node_takes_its_workers_and_its_actors_restart_on_a_survivor(
        tmp_path, no_runtime):
    with local_cluster(str(tmp_path), [{"num_cpus": 1}, {"num_cpus": 1}]):
        actorium.init(address="auto")
        try:
            rows = state.list_nodes()
            assert all(row["pid"] > 0 for row in rows)
            head_id = next(row["node_id"] for row in rows if row["is_head"])
            other_id = next(row["node_id"] for row in rows if not row["is_head"])
            strategy = NodeAffinitySchedulingStrategy(node_id=other_id, soft=True)
            actor = Locator.options(max_restarts=1, scheduling_strategy=strategy).remote()
            assert actorium.get(actor.where.remote(), timeout=60) == other_id
            worker = actorium.get(actor.pid.remote(), timeout=60)
            daemon = node_pid(other_id)
            assert daemon != worker

            assert kill_node(other_id) == daemon
            _wait(lambda: not _alive(daemon) and not _alive(worker),
                  "the node daemon or its worker outlived kill_node()")
            _wait(lambda: {n["NodeID"] for n in actorium.nodes() if n["Alive"]} == {head_id},
                  "the killed node was never marked dead")
            dead = [row for row in state.list_nodes() if row["node_id"] == other_id]
            assert [row["state"] for row in dead] == ["DEAD"]
            with pytest.raises(LookupError, match="no live node"):
                node_pid(other_id)
            deadline = time.monotonic() + 60
            while True:   # calls sent to the dead incarnation fail (at most once)
                try:
                    if actorium.get(actor.where.remote(), timeout=30) == head_id:
                        break
                except ActorDiedError:
                    pass
                assert time.monotonic() < deadline, "the actor never came back on the head"
                time.sleep(0.2)
        finally:
            actorium.shutdown()


def test_kill_node_head_kills_the_head_node(tmp_path, no_runtime):
    with local_cluster(str(tmp_path), [{"num_cpus": 1}, {"num_cpus": 1}]):
        actorium.init(address="auto")
        try:
            head = next(row for row in state.list_nodes() if row["is_head"])
            on_head = Locator.options(scheduling_strategy=NodeAffinitySchedulingStrategy(
                node_id=head["node_id"], soft=False)).remote()
            worker = actorium.get(on_head.pid.remote(), timeout=60)
            assert kill_node("head") == head["pid"]
            _wait(lambda: not _alive(head["pid"]) and not _alive(worker),
                  "the head node or its worker outlived kill_node('head')")
        finally:
            actorium.shutdown()


def test_kill_node_refuses_what_is_not_a_live_node(runtime):
    with pytest.raises(LookupError, match="no live node 'ff00'"):
        kill_node("ff00")
    with pytest.raises(TypeError, match="named by its id"):
        kill_node(3)  # type: ignore[arg-type]
    # The one node of a local runtime is the head; asking does not kill it.
    assert node_pid("head") == state.list_nodes()[0]["pid"]
    assert _alive(node_pid("head"))
