"""Placement groups on one node (the embedded runtime): reserve, run inside, remove."""

from __future__ import annotations

import asyncio

import pytest

import actorium
from actorium.util import (
    get_placement_group,
    placement_group,
    placement_group_table,
    remove_placement_group,
)
from actorium.util.scheduling_strategies import PlacementGroupSchedulingStrategy

pytestmark = pytest.mark.timeout(120)


@actorium.remote
def node_of() -> str:
    return actorium.get_runtime_context().get_node_id()


@actorium.remote
class Pinger:
    def ping(self) -> str:
        return "pong"


def in_bundle(pg, index: int = -1) -> PlacementGroupSchedulingStrategy:
    return PlacementGroupSchedulingStrategy(pg, placement_group_bundle_index=index)


@pytest.mark.parametrize("strategy", ["PACK", "SPREAD", "STRICT_PACK"])
def test_each_strategy_reserves_its_bundles_on_the_only_node(runtime, strategy):
    pg = placement_group([{"CPU": 1}, {"CPU": 0.5}], strategy=strategy)
    try:
        assert runtime.get(pg.ready(), timeout=60) == pg
        row = placement_group_table(pg)
        assert row["state"] == "CREATED" and row["strategy"] == strategy
        node = runtime.get_runtime_context().get_node_id()
        assert row["bundles_to_node_id"] == {0: node, 1: node}
        assert row["bundles"] == {0: {"CPU": 1.0}, 1: {"CPU": 0.5}}
        # The reserved CPUs are no longer free for work outside the group.
        assert runtime.available_resources().get("CPU", 0.0) == pytest.approx(0.5)
    finally:
        remove_placement_group(pg)
    assert runtime.available_resources()["CPU"] == pytest.approx(2.0)


def test_strict_spread_over_more_bundles_than_nodes_is_refused_saying_why(runtime):
    with pytest.raises(ValueError, match="STRICT_SPREAD .* 2 bundles .* only 1 node"):
        placement_group([{"CPU": 1}, {"CPU": 1}], strategy="STRICT_SPREAD")


def test_a_bundle_no_node_can_hold_is_refused(runtime):
    with pytest.raises(ValueError, match="no node has the resources of bundle"):
        placement_group([{"CPU": 64}])
    with pytest.raises(ValueError, match="STRICT_PACK"):
        placement_group([{"CPU": 1.5}, {"CPU": 1.5}], strategy="STRICT_PACK")


@pytest.mark.parametrize("bad", [[], [{}], [{"CPU": -1}], [{"CPU": 0}], "CPU", [{"CPU": "1"}]])
def test_malformed_bundles_are_rejected(runtime, bad):
    with pytest.raises(ValueError, match="bundle"):
        placement_group(bad)


def test_unknown_strategy_and_bundle_index_are_rejected(runtime):
    with pytest.raises(ValueError, match="strategy must be one of"):
        placement_group([{"CPU": 1}], strategy="TIGHT")
    pg = placement_group([{"CPU": 0.5}])
    try:
        with pytest.raises(ValueError, match="placement_group_bundle_index"):
            in_bundle(pg, 1)
    finally:
        remove_placement_group(pg)


def test_tasks_and_actors_run_in_a_bundle_with_its_resources(runtime):
    pg = placement_group([{"CPU": 1}, {"CPU": 1}])
    try:
        assert pg.wait(60)
        refs = [node_of.options(scheduling_strategy=in_bundle(pg, 0)).remote()
                for _ in range(4)]
        assert len(set(runtime.get(refs, timeout=60))) == 1
        actor = Pinger.options(num_cpus=1, scheduling_strategy=in_bundle(pg, 1)).remote()
        assert runtime.get(actor.ping.remote(), timeout=60) == "pong"
        # The actor holds bundle 1's CPU: a task asking bundle 1 for a CPU must wait.
        blocked = node_of.options(scheduling_strategy=in_bundle(pg, 1)).remote()
        ready, _ = runtime.wait([blocked], timeout=1.0)
        assert not ready
        runtime.kill(actor)
        assert runtime.get(blocked, timeout=60)
    finally:
        remove_placement_group(pg)


def test_work_asking_a_bundle_for_what_it_lacks_fails_naming_it(runtime):
    pg = placement_group([{"CPU": 1}])
    try:
        assert pg.wait(60)
        with pytest.raises(ValueError, match="GPU_group_0"):
            runtime.get(node_of.options(num_gpus=1, scheduling_strategy=in_bundle(pg, 0))
                        .remote(), timeout=60)
    finally:
        remove_placement_group(pg)


def test_a_group_that_does_not_fit_now_waits_until_resources_are_free(runtime):
    first = placement_group([{"CPU": 2}])
    assert first.wait(60)
    second = placement_group([{"CPU": 1}], name="second")
    try:
        assert not second.wait(0.5)
        assert placement_group_table(second)["state"] == "PENDING"
        assert get_placement_group("second") == second
        remove_placement_group(first)
        assert second.wait(60)
    finally:
        remove_placement_group(first)
        remove_placement_group(second)


def test_removing_a_group_kills_its_actors_and_fails_its_pending_ready(runtime):
    pg = placement_group([{"CPU": 1}])
    assert pg.wait(60)
    actor = Pinger.options(scheduling_strategy=in_bundle(pg, 0)).remote()
    assert runtime.get(actor.ping.remote(), timeout=60) == "pong"
    waiting = placement_group([{"CPU": 2}])
    ready = waiting.ready()
    remove_placement_group(waiting)
    remove_placement_group(pg)
    with pytest.raises(ValueError, match="removed"):
        runtime.get(ready, timeout=60)
    with pytest.raises(actorium.exceptions.ActorDiedError):
        runtime.get(actor.ping.remote(), timeout=60)
    assert placement_group_table(pg)["state"] == "REMOVED"


def test_a_name_in_use_is_refused(runtime):
    pg = placement_group([{"CPU": 0.5}], name="unique")
    try:
        with pytest.raises(ValueError, match="'unique' already exists"):
            placement_group([{"CPU": 0.5}], name="unique")
    finally:
        remove_placement_group(pg)
    with pytest.raises(ValueError, match="no placement group named 'unique'"):
        get_placement_group("unique")


def test_ready_is_awaitable(runtime):
    pg = placement_group([{"CPU": 1}])

    async def main():
        return await pg.ready()

    try:
        assert asyncio.run(main()) == pg
    finally:
        remove_placement_group(pg)


def test_a_group_is_passed_to_a_task_that_schedules_into_it(runtime):
    pg = placement_group([{"CPU": 0.5}, {"CPU": 0.5}])

    @actorium.remote(num_cpus=0)
    def launch(group) -> str:
        strategy = PlacementGroupSchedulingStrategy(group, placement_group_bundle_index=1)
        return actorium.get(node_of.options(num_cpus=0.5, scheduling_strategy=strategy).remote())

    try:
        assert pg.wait(60)
        assert runtime.get(launch.remote(pg), timeout=60) == \
            runtime.get_runtime_context().get_node_id()
    finally:
        remove_placement_group(pg)
