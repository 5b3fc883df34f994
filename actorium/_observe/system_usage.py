"""CPU and memory of this machine and of processes, read from /proc (Linux).

Cheap enough to call on every dashboard refresh; returns None where /proc is unavailable.
"""

from __future__ import annotations

import os

_last_cpu: tuple[int, int] | None = None


def _cpu_times() -> tuple[int, int] | None:
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = [int(v) for v in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields), idle


def cpu_percent() -> float | None:
    """Machine-wide CPU use since the previous call (the first call: since boot)."""
    global _last_cpu
    now = _cpu_times()
    if now is None:
        return None
    previous, _last_cpu = _last_cpu or (0, 0), now
    total, idle = now[0] - previous[0], now[1] - previous[1]
    return round(100.0 * (total - idle) / total, 1) if total > 0 else 0.0


def memory() -> dict[str, int] | None:
    """Total and available memory of the machine, in bytes."""
    values: dict[str, int] = {}
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                name, _, rest = line.partition(":")
                if name in ("MemTotal", "MemAvailable"):
                    values[name] = int(rest.split()[0]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return {"total": values.get("MemTotal", 0), "available": values.get("MemAvailable", 0)}


def rss(pid: int | None) -> int | None:
    """Resident memory of one process, in bytes."""
    if pid is None:
        return None
    try:
        with open(f"/proc/{pid}/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pid: int | None) -> float | None:
    """CPU time (user + system) one process has used so far, in seconds."""
    if pid is None:
        return None
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            # The command name (field 2) may hold spaces: count fields after its ")".
            fields = stat.read().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS
    except (OSError, ValueError, IndexError):
        return None
