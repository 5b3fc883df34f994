"""The object store as seen from the calling process."""

from __future__ import annotations

from actorium._core import context
from actorium._store.summary import MemorySummary, ObjectInfo, summarize


def memory_summary() -> MemorySummary:
    """The store's budget, usage and objects; ``print()`` it for a table (does not block
    on the runtime: it reads the store's files).

    Reference counts are filled in for objects this process owns (a driver owns what it
    ``put`` and the results of the tasks it called); for others they are ``None``.
    Raises RuntimeNotInitializedError before ``init()``.
    """
    runtime = context.current_runtime()
    counts: dict[str, int] = {}
    with runtime.objects.lock:
        for object_id, entry in runtime.objects.entries.items():
            if entry.owned and entry.stored is not None:
                counts[object_id.hex()] = entry.local_refs + entry.borrowers + entry.pins
    return summarize(runtime.session_dir, counts)


def list_objects() -> list[ObjectInfo]:
    """Every object in the store (see ``memory_summary`` for what the fields hold)."""
    return memory_summary().objects
