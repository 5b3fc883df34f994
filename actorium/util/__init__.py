"""Ray-compatible helpers (``actorium.util``), importable as in Ray: ``util.state``,
``util.scheduling_strategies``, and placement groups (``util.placement_group(...)``)."""

from actorium.util import scheduling_strategies, state
from actorium.util.placement_group import (
    PlacementGroup,
    get_placement_group,
    placement_group,
    placement_group_table,
    remove_placement_group,
)

__all__ = ["PlacementGroup", "get_placement_group", "placement_group", "placement_group_table",
           "remove_placement_group", "scheduling_strategies", "state"]
