"""What one process holds in its object table, summarized for the objects page and state API.

Sizes are the serialized payload (inline data plus out-of-band buffers, or the store file).
With tens of thousands of entries only a sample is itemized; totals stay exact up to
``_EXACT_LIMIT``.
"""

from __future__ import annotations

from itertools import islice
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
    """Totals and the newest entries of ``table`` (call on the table's loop thread)."""
    entries = table.entries
    items: list[list[Any]] = []
    newest = list(islice(reversed(entries.items()), _ITEMIZED)) if entries else []
    for object_id, entry in newest:
        items.append([object_id.hex(), entry_size(entry), _STATES.get(entry.state, "READY"),
                      entry.owner if not entry.owned else "", entry.local_refs,
                      entry.borrowers, entry.pins, location(entry)])
    total = sum(entry_size(entry) for entry in islice(entries.values(), _EXACT_LIMIT))
    return {"role": role, "pid": pid, "count": len(entries), "bytes": total,
            "exact": len(entries) <= _EXACT_LIMIT, "items": items}
