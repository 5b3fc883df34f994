"""What is in a session's object store: the objects, their size, owner, and where they are.

Read from the files alone (``<owner tag>.<object id>`` in shared memory and in the spill
directory), so any process of the machine can list them, even the ``actorium memory`` command
that is not part of the runtime. Reference counts are known only to the owning process; a
caller that owns objects passes its counts in.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from actorium._store import paths
from actorium._store.capacity import Capacity


@dataclass(frozen=True)
class ObjectInfo:
    """One object in the store."""

    object_id: str
    size: int
    owner: str             # the owning process's tag (its worker id)
    where: str             # "memory" (shared memory) or "spilled" (on disk)
    ref_count: int | None  # references the owner knows of; None when asked from elsewhere


@dataclass(frozen=True)
class MemorySummary:
    """The store of one session: budget, usage, and every object; ``str()`` is a table."""

    capacity: int
    used: int              # bytes in shared memory (the budget's count)
    spilled: int           # bytes on disk
    objects: list[ObjectInfo] = field(default_factory=list)

    def __str__(self) -> str:
        lines = [f"object store: {_size(self.used)} of {_size(self.capacity)} in memory, "
                 f"{_size(self.spilled)} spilled, {len(self.objects)} object(s)"]
        if self.objects:
            lines.append(f"{'object id':<42} {'size':>10}  {'where':<8} {'refs':>4}  owner")
            for info in sorted(self.objects, key=lambda o: -o.size):
                refs = "?" if info.ref_count is None else str(info.ref_count)
                lines.append(f"{info.object_id:<42} {_size(info.size):>10}  {info.where:<8} "
                             f"{refs:>4}  {info.owner}")
        return "\n".join(lines)


def _size(size: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024  # type: ignore[assignment]
    return str(size)


def _files(directory: str) -> dict[str, tuple[str, int]]:
    """object id hex -> (owner tag, size) of the object files in ``directory``."""
    found: dict[str, tuple[str, int]] = {}
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return found
    for entry in entries:
        parsed = paths.parse_file_name(entry.name)
        if parsed is None:
            continue
        try:
            found[parsed[1]] = (parsed[0], entry.stat().st_size)
        except FileNotFoundError:
            continue  # freed while we looked
    return found


def summarize(session_dir: str, ref_counts: dict[str, int] | None = None) -> MemorySummary:
    """List the store of the session whose directory is ``session_dir``."""
    counts = ref_counts or {}
    in_memory = _files(paths.store_dir(session_dir))
    on_disk = _files(paths.spill_dir(session_dir))
    objects = [ObjectInfo(object_id, size, owner, "memory", counts.get(object_id))
               for object_id, (owner, size) in in_memory.items()]
    objects += [ObjectInfo(object_id, size, owner, "spilled", counts.get(object_id))
                for object_id, (owner, size) in on_disk.items() if object_id not in in_memory]
    capacity, used = 0, sum(size for _owner, size in in_memory.values())
    usage = os.path.join(paths.store_dir(session_dir), paths.USAGE_FILE)
    if os.path.exists(usage):
        budget = Capacity(usage, None)
        try:
            capacity, used = budget.figures()
        finally:
            budget.close()
    spilled = sum(size for object_id, (_owner, size) in on_disk.items()
                  if object_id not in in_memory)
    return MemorySummary(capacity, used, spilled, objects)
