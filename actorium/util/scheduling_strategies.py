"""Scheduling strategies with Ray's names: pass one as ``scheduling_strategy=``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["NodeAffinitySchedulingStrategy", "PlacementGroupSchedulingStrategy"]


@dataclass(frozen=True)
class NodeAffinitySchedulingStrategy:
    """Run on the node ``node_id`` (hex, as ``get_runtime_context().get_node_id()`` gives).

    With ``soft=False`` the task fails with a ValueError naming the node if it is not alive;
    with ``soft=True`` it runs elsewhere instead.
    """

    node_id: str
    soft: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.node_id, str) or not self.node_id:
            raise ValueError(f"node_id must be a node id in hex, got {self.node_id!r}")


@dataclass(frozen=True)
class PlacementGroupSchedulingStrategy:
    """Run in a bundle of ``placement_group`` (``placement_group_bundle_index``; -1: any of
    its bundles), using the resources that bundle reserved.

    With ``placement_group_capture_child_tasks=True`` the tasks and actors that this work
    creates without a strategy of their own go into the same group too (any bundle), and
    theirs in turn; None inherits the parent's choice. ``placement_group=None`` places the
    work in no group, even inside a capturing parent.

    The task or actor asks the bundle for its own ``num_cpus`` / ``resources``; if the
    bundle lacks one of them, scheduling fails with a ValueError naming it.
    """

    placement_group: Any
    placement_group_bundle_index: int = -1
    placement_group_capture_child_tasks: bool | None = None

    def __post_init__(self) -> None:
        from actorium.util.placement_group import PlacementGroup

        index = self.placement_group_bundle_index
        if self.placement_group is None:
            if index != -1:
                raise ValueError(f"placement_group_bundle_index must be -1 without a placement "
                                 f"group, got {index!r}")
            return   # explicitly in no group: not captured by a parent's group
        if not isinstance(self.placement_group, PlacementGroup):
            raise ValueError(f"placement_group must be a PlacementGroup or None, got "
                             f"{self.placement_group!r}")
        capture = self.placement_group_capture_child_tasks
        if capture is not None and not isinstance(capture, bool):
            raise ValueError(f"placement_group_capture_child_tasks must be a bool or None, got "
                             f"{capture!r}")
        count = self.placement_group.bundle_count
        if isinstance(index, bool) or not isinstance(index, int) or not -1 <= index < count:
            raise ValueError(f"placement_group_bundle_index must be -1 or in [0, {count}) for "
                             f"{self.placement_group}, got {index!r}")
