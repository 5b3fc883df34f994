"""The head service of a cluster under faults: its own messages broken by the plan (role
"head"), the head killed at a chosen moment, and the head paused."""

from __future__ import annotations

import os

import pytest
from cluster_helpers import local_cluster
from polling import eventually

import actorium
from actorium.testing import inject_faults, kill_node, kill_sender, pause_node
from actorium.util import state
from actorium.util.scheduling_strategies import NodeAffinitySchedulingStrategy

pytestmark = [pytest.mark.multiprocess, pytest.mark.slow, pytest.mark.timeout(240)]


@actorium.remote
class Locator:
    def where(self) -> str:
        return actorium.get_runtime_context().get_node_id()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _nodes() -> tuple[dict, dict]:
    rows = state.list_nodes()
    return (next(row for row in rows if row["is_head"]),
            next(row for row in rows if not row["is_head"]))


def _on(node_id: str) -> NodeAffinitySchedulingStrategy:
    return NodeAffinitySchedulingStrategy(node_id=node_id, soft=False)


def test_the_head_dies_at_the_moment_the_plan_names(tmp_path, no_runtime):
    # Kill the head as it announces a node's death (only the head sends NODE_DIED): "the head
    # crashes while it handles a failure". Role "head" reaches the head service's own outbox;
    # without the hook in HeadService the plan never fires and the head lives on.
    with inject_faults(kill_sender("NODE_DIED", roles=("head",))), \
            local_cluster(str(tmp_path / "cluster"), [{"num_cpus": 1}, {"num_cpus": 1}]):
        actorium.init(address="auto")
        try:
            head, other = _nodes()
            # Armed, the cluster works as usual until the moment comes.
            actors = [Locator.options(scheduling_strategy=_on(row["node_id"])).remote()
                      for row in (head, other)]
            assert actorium.get([a.where.remote() for a in actors], timeout=60) == \
                [head["node_id"], other["node_id"]]
            assert _alive(head["pid"])
            kill_node(other["node_id"])
            # The head declares the node dead after its heartbeat timeout; its first NODE_DIED
            # kills the head node's process.
            eventually(lambda: not _alive(head["pid"]), timeout=60)
        finally:
            actorium.shutdown()


def test_calls_to_placed_actors_complete_while_the_head_is_paused(tmp_path, no_runtime):
    # The head is off the call path: callers talk to workers directly once an actor is
    # placed, so a hung head service (its node's daemon stopped) stalls no call in flight.
    with local_cluster(str(tmp_path / "cluster"), [{"num_cpus": 1}, {"num_cpus": 1}]):
        actorium.init(address="auto")
        try:
            head, other = _nodes()
            there = Locator.options(scheduling_strategy=_on(other["node_id"])).remote()
            assert actorium.get(there.where.remote(), timeout=60) == other["node_id"]
            with pause_node("head") as pid:
                assert pid == head["pid"]
                assert actorium.get([there.where.remote() for _ in range(5)],
                                    timeout=60) == [other["node_id"]] * 5
            # Continued: the head places new actors again.
            again = Locator.options(scheduling_strategy=_on(other["node_id"])).remote()
            assert actorium.get(again.where.remote(), timeout=60) == other["node_id"]
        finally:
            actorium.shutdown()


def test_pause_node_refuses_what_is_not_a_live_node(runtime):
    with pytest.raises(LookupError, match="no live node 'ff00'"):
        with pause_node("ff00"):
            pass
