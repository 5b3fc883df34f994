"""Ray-compatible helpers beyond the core API, importable as in Ray.

``util.state`` lists what the runtime is doing (``ray.util.state``); ``memory_summary()`` and
``list_objects()`` describe the object store (``ray memory``); ``util.scheduling_strategies``
holds Ray's strategy classes; ``placement_group()`` and its companions reserve resources on
nodes together (``ray.util.placement_group``). Ray's utility libraries live here too:
``ActorPool``, ``util.queue.Queue`` and ``util.metrics`` (see docs/libraries.md).
"""

from actorium.util import scheduling_strategies, state
from actorium.util.actor_pool import ActorPool
from actorium.util.memory import list_objects, memory_summary
from actorium.util.placement_group import (
    PlacementGroup,
    get_current_placement_group,
    get_placement_group,
    placement_group,
    placement_group_table,
    remove_placement_group,
)

__all__ = ["ActorPool", "PlacementGroup", "get_current_placement_group", "get_placement_group",
           "list_objects", "memory_summary", "placement_group", "placement_group_table",
           "remove_placement_group", "scheduling_strategies", "state"]
