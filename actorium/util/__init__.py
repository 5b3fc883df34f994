"""Ray-compatible utilities that are not part of the core API.

``memory_summary()`` and ``list_objects()`` describe the object store (Ray offers the same
through ``ray memory`` and ``ray.util.state.list_objects``).
"""

from actorium.util.memory import list_objects, memory_summary

__all__ = ["list_objects", "memory_summary"]
