"""Placement groups as Ray ported programs use them: children captured into their parent's
group, ``placement_group_table()`` rows, and removing a group under running work.

Each behaviour was checked side by side with Ray 2.60 (``/work/.venv-ray``) first."""

from __future__ import annotations

import time

import pytest
from polling import eventually

import actorium
from actorium.exceptions import TaskPlacementGroupRemoved
from actorium.util import (
    get_current_placement_group,
    placement_group,
    placement_group_table,
    remove_placement_group,
)
from actorium.util.scheduling_strategies import PlacementGroupSchedulingStrategy

pytestmark = pytest.mark.timeout(120)

RAY_ROW_KEYS = {"placement_group_id", "name", "bundles", "bundles_to_node_id", "strategy",
                "state", "stats"}
RAY_STATS_KEYS = {"end_to_end_creation_latency_ms", "scheduling_latency_ms",
                  "scheduling_attempt", "highest_retry_delay_ms", "scheduling_state"}


def capturing(pg, capture: bool | None = True) -> PlacementGroupSchedulingStrategy:
    return PlacementGroupSchedulingStrategy(pg, placement_group_capture_child_tasks=capture)


@actorium.remote(num_cpus=1)
def group_of() -> tuple[str | None, bool]:
    context = actorium.get_runtime_context()
    return context.get_placement_group_id(), context.should_capture_child_tasks_in_placement_group


@actorium.remote(num_cpus=1)
class Member:
    def group(self) -> str | None:
        return actorium.get_runtime_context().get_placement_group_id()

    def child_group(self) -> tuple[str | None, bool]:
        return actorium.get(group_of.remote())


@actorium.remote(num_cpus=0)
def spawn(kind: str) -> tuple[str | None, bool]:
    if kind == "task":
        return actorium.get(group_of.remote())
    if kind == "grandchild":
        return actorium.get(spawn.options(num_cpus=0).remote("task"))
    if kind == "actor":
        member = Member.remote()
        return actorium.get(member.group.remote()), False
    if kind == "opt_out":
        outside = PlacementGroupSchedulingStrategy(placement_group=None)
        return actorium.get(group_of.options(scheduling_strategy=outside).remote())
    raise AssertionError(kind)


@pytest.fixture
def full_group(runtime):
    """A group holding both CPUs of the runtime: work outside it cannot start."""
    pg = placement_group([{"CPU": 2}])
    assert pg.wait(60)
    yield pg
    remove_placement_group(pg)


def test_the_child_task_of_a_capturing_task_runs_in_its_group(runtime, full_group):
    # Ray's documentation program: with both CPUs in the group, the child only runs inside.
    got = runtime.get(spawn.options(scheduling_strategy=capturing(full_group)).remote("task"),
                      timeout=60)
    assert got == (full_group.id.hex(), True)


def test_capture_reaches_grandchildren_and_actors_created_inside(runtime, full_group):
    strategy = capturing(full_group)
    assert runtime.get(spawn.options(scheduling_strategy=strategy).remote("grandchild"),
                       timeout=60) == (full_group.id.hex(), True)
    assert runtime.get(spawn.options(scheduling_strategy=strategy).remote("actor"),
                       timeout=60) == (full_group.id.hex(), False)


def test_an_actor_in_a_capturing_group_places_its_tasks_there(runtime, full_group):
    member = Member.options(scheduling_strategy=capturing(full_group)).remote()
    assert runtime.get(member.child_group.remote(), timeout=60) == (full_group.id.hex(), True)


def test_without_capture_a_child_runs_outside_the_group(runtime):
    pg = placement_group([{"CPU": 1}])
    try:
        assert pg.wait(60)
        inside = runtime.get(group_of.options(scheduling_strategy=capturing(pg, None)).remote(),
                             timeout=60)
        assert inside == (pg.id.hex(), False)
        child = runtime.get(spawn.options(scheduling_strategy=capturing(pg, False))
                            .remote("task"), timeout=60)
        assert child == (None, False)
    finally:
        remove_placement_group(pg)


def test_placement_group_none_opts_a_child_out_of_its_parents_group(runtime):
    pg = placement_group([{"CPU": 1}])
    try:
        assert pg.wait(60)
        got = runtime.get(spawn.options(scheduling_strategy=capturing(pg)).remote("opt_out"),
                          timeout=60)
        assert got == (None, False)
    finally:
        remove_placement_group(pg)


def test_a_child_opting_out_of_a_full_group_waits_for_a_free_cpu_as_in_ray(runtime, full_group):
    @actorium.remote(num_cpus=1)
    def parent() -> bool:
        outside = PlacementGroupSchedulingStrategy(placement_group=None)
        ref = group_of.options(scheduling_strategy=outside).remote()
        ready, _ = actorium.wait([ref], timeout=1.5)
        actorium.cancel(ref)
        return bool(ready)

    assert runtime.get(parent.options(scheduling_strategy=capturing(full_group)).remote(),
                       timeout=60) is False


def test_get_current_placement_group_is_the_running_tasks_group(runtime):
    @actorium.remote(num_cpus=0)
    def current():
        return get_current_placement_group()

    pg = placement_group([{"CPU": 1}])
    try:
        assert pg.wait(60)
        found = runtime.get(current.options(scheduling_strategy=capturing(pg, None)).remote(),
                            timeout=60)
        assert found == pg and found.bundle_specs == [{"CPU": 1.0}]
        assert runtime.get(current.remote(), timeout=60) is None
        assert get_current_placement_group() is None
        context = runtime.get_runtime_context()
        assert context.get_placement_group_id() is None
        assert context.should_capture_child_tasks_in_placement_group is False
    finally:
        remove_placement_group(pg)


def test_a_bundle_index_without_a_group_is_refused():
    with pytest.raises(ValueError, match="placement_group_bundle_index must be -1"):
        PlacementGroupSchedulingStrategy(None, placement_group_bundle_index=0)


def test_the_table_has_rays_keys_and_states(runtime):
    created = placement_group([{"CPU": 1}], name="created")
    assert created.wait(60)
    pending = placement_group([{"CPU": 1.5}])
    try:
        rows = placement_group_table()
        assert {created.id.hex(), pending.id.hex()} <= set(rows)
        row = placement_group_table(created)
        assert RAY_ROW_KEYS <= set(row) and RAY_STATS_KEYS == set(row["stats"])
        node = runtime.get_runtime_context().get_node_id()
        assert (row["state"], row["name"], row["strategy"]) == ("CREATED", "created", "PACK")
        assert row["bundles"] == {0: {"CPU": 1.0}} and row["bundles_to_node_id"] == {0: node}
        assert row["stats"]["scheduling_state"] == "FINISHED"
        assert row["stats"]["scheduling_attempt"] >= 1
        assert row["stats"]["end_to_end_creation_latency_ms"] > 0
        waiting = rows[pending.id.hex()]
        assert waiting["state"] == "PENDING" and waiting["bundles_to_node_id"] == {0: ""}
        assert waiting["stats"]["scheduling_state"] in ("QUEUED", "NO_RESOURCES")
        remove_placement_group(created)
        removed = placement_group_table(created)
        assert removed["state"] == "REMOVED" and removed["stats"]["scheduling_state"] == "REMOVED"
        assert removed["bundles_to_node_id"] == {0: node}   # where it was, as Ray shows it
        assert pending.wait(60)
    finally:
        remove_placement_group(created)
        remove_placement_group(pending)


def test_removing_a_group_stops_its_running_task_and_fails_its_queued_one(runtime):
    @actorium.remote(num_cpus=1)
    def sleeper() -> str:
        time.sleep(30)
        return "finished"

    pg = placement_group([{"CPU": 1}])
    assert pg.wait(60)
    strategy = PlacementGroupSchedulingStrategy(pg)
    running = sleeper.options(scheduling_strategy=strategy).remote()
    queued = sleeper.options(scheduling_strategy=strategy).remote()
    assert not runtime.wait([running], timeout=1.0)[0]
    started = time.monotonic()
    remove_placement_group(pg)
    with pytest.raises(TaskPlacementGroupRemoved, match="stopped while it ran"):
        runtime.get(running, timeout=20)
    with pytest.raises(TaskPlacementGroupRemoved, match="can no longer run"):
        runtime.get(queued, timeout=20)
    assert time.monotonic() - started < 15   # stopped, not left to finish its 30 s
    # The CPU is free again, and ordinary work runs.
    assert runtime.get(group_of.remote(), timeout=60) == (None, False)
    # A task's result reaches its caller before its node hears that it finished and frees
    # its CPU (available_resources() is eventually consistent, as on Ray): wait for it.
    eventually(lambda: runtime.available_resources()["CPU"] == pytest.approx(2.0))
