"""Memory of the runtime: the driver process plus every process it (transitively) started.

Prefers PSS (proportional set size, from ``memory_full_info``), which splits shared pages
fairly between processes, so summing it over many worker processes does not count the
Python interpreter and shared libraries once per process. Falls back to RSS for the whole
snapshot when PSS cannot be read for any process; the snapshot says which it used.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import psutil  # type: ignore[import-untyped,unused-ignore]


@dataclass(frozen=True)
class MemorySnapshot:
    """Bytes used by the driver and by its descendant processes, of one ``kind``."""

    driver: int
    children: int
    processes: int
    kind: str  # "PSS" or "RSS"

    @property
    def total(self) -> int:
        return self.driver + self.children


def _descendants(root: psutil.Process) -> list[psutil.Process]:
    try:
        return list(root.children(recursive=True))
    except psutil.Error:
        return []


def _pss(proc: psutil.Process) -> int:
    return int(proc.memory_full_info().pss)


def _rss(proc: psutil.Process) -> int:
    return int(proc.memory_info().rss)


def snapshot() -> MemorySnapshot:
    """Measure the current process (the driver) and all of its descendants."""
    me = psutil.Process(os.getpid())
    children = _descendants(me)
    for kind, read in (("PSS", _pss), ("RSS", _rss)):
        try:
            driver = read(me)
            total_children = 0
            alive = 0
            for child in children:
                try:
                    total_children += read(child)
                    alive += 1
                except psutil.NoSuchProcess:
                    continue  # exited between listing and reading
            return MemorySnapshot(driver, total_children, alive, kind)
        except (psutil.AccessDenied, AttributeError):
            continue  # PSS not readable here: fall back to RSS for every process
    raise RuntimeError("cannot read process memory")


MIB = float(2**20)
KIB = float(2**10)
