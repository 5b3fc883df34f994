"""Placement groups: reserve CPUs together, and let a task's children run in its group.

Ray's documentation program for ``placement_group_capture_child_tasks``, ported with
``import actorium as ray``: the group holds both CPUs of the runtime, so a child task can only
run if it is captured into its parent's group.

    python examples/placement_groups.py
"""

from __future__ import annotations

import time

import actorium as ray
from actorium.util import get_current_placement_group, placement_group, placement_group_table
from actorium.util.scheduling_strategies import PlacementGroupSchedulingStrategy


@ray.remote(num_cpus=1)
def child() -> str | None:
    time.sleep(0.5)
    return ray.get_runtime_context().get_placement_group_id()


@ray.remote(num_cpus=1)
def parent() -> str | None:
    # No scheduling strategy here: the child joins the parent's group, as in Ray.
    return ray.get(child.remote())


@ray.remote(num_cpus=1)
def parent_opting_out() -> str:
    # placement_group=None: the child is in no group, and the group holds every CPU.
    outside = child.options(
        scheduling_strategy=PlacementGroupSchedulingStrategy(placement_group=None)).remote()
    ready, _ = ray.wait([outside], timeout=2)
    ray.cancel(outside)
    group = get_current_placement_group()
    assert group is not None
    return "ran" if ready else f"waited: no free CPU outside {group.id}"


def main() -> None:
    ray.init(num_cpus=2)
    try:
        pg = placement_group([{"CPU": 2}])
        ray.get(pg.ready())
        capture = PlacementGroupSchedulingStrategy(placement_group=pg,
                                                   placement_group_capture_child_tasks=True)
        print("child ran in group:", ray.get(parent.options(scheduling_strategy=capture)
                                              .remote()) == pg.id.hex())
        print("child that opted out:", ray.get(parent_opting_out.options(
            scheduling_strategy=capture).remote()))
        row = placement_group_table(pg)
        print("group:", row["state"], row["bundles"], row["stats"]["scheduling_state"])
    finally:
        ray.shutdown()


if __name__ == "__main__":
    main()
