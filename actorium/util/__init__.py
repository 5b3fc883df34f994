"""Ray-compatible helpers beyond the core API, importable as in Ray.

``util.state`` lists what the runtime is doing (``ray.util.state``); ``memory_summary()`` and
``list_objects()`` describe the object store (``ray memory``); ``util.scheduling_strategies``
holds Ray's strategy classes.
"""

from actorium.util import scheduling_strategies, state
from actorium.util.memory import list_objects, memory_summary

__all__ = ["list_objects", "memory_summary", "scheduling_strategies", "state"]
