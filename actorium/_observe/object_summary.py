"""What one process holds in its object table, summarized for the objects page and state API.

Sizes are the serialized payload (inline data plus out-of-band buffers, or the store file).
With tens of thousands of entries only a sample is itemized; totals stay exact up to
``_EXACT_LIMIT``.
"""

from __future__ import annotations

from typing import Any

from actorium._core.objects import FAILED, PENDING, ObjectEntry, ObjectTable

_ITEMIZED = 200
_EXACT_LIMIT = 50_000
_STATES = {PENDING: "PENDING", FAILED: "FAILED"}


def entry_size(entry: ObjectEntry) -> int:
    if entry.stored is not None:
        return int(entry.stored.size)
    size = len(entry.data) if isinstance(entry.data, (bytes, bytearray, memoryview)) else 0
    for buffer in entry.buffers:
        try:
            size += memoryview(buffer).nbytes
        except TypeError:
            continue
    return size


def location(entry: ObjectEntry) -> str:
    """Where the value is: in the message that carried it, in shared memory, or on disk."""
    stored = entry.stored
    if stored is None:
        return "inline"
    return "spilled" if stored.spilled else "shared memory"


def summarize(table: ObjectTable, role: str, pid: int) -> dict[str, Any]:
    """Totals and the newest entries of ``table`` (any thread)."""
    # Through the table's own walks: caller threads add entries while this runs.
    count, newest = table.newest(_ITEMIZED)
    items: list[list[Any]] = []
    for object_id, entry in newest:
        items.append([object_id.hex(), entry_size(entry), _STATES.get(entry.state, "READY"),
                      entry.owner if not entry.owned else "", entry.local_refs,
                      entry.borrowers, entry.pins, location(entry)])
    total = sum(entry_size(entry) for entry in table.oldest_values(_EXACT_LIMIT))
    return {"role": role, "pid": pid, "count": count, "bytes": total,
            "exact": count <= _EXACT_LIMIT, "items": items}
