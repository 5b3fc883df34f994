"""Driver side of log collection: print what workers print, prefixed with where it came from.

As in Ray, ``print("hi")`` inside an actor method shows up in the driver's terminal as
``(Counter pid=1234 node=1a2b3c4d) hi``. Lines from stderr go to the driver's stderr.
Turned off with ``init(log_to_driver=False)``.
"""

from __future__ import annotations

import sys
from typing import Any

from actorium._observe.driver_events import STREAM as EVENT_STREAM
from actorium._observe.driver_events import dispatch


def prefix(origin: str, pid: int, node_id: str) -> str:
    name = origin.split(":", 1)[0]
    where = f"pid={pid} node={node_id[:8]}"
    return f"({name} {where})" if name else f"({where})"


def print_log_lines(header: list[Any], _buffers: list[Any]) -> None:
    """Handler of LOG_LINES messages (driver loop thread).

    Driver events among the lines (``driver_events``) are handed to their handlers in their
    place, after the lines printed before them.
    """
    _, node_id, lines = header[:3]
    out: list[str] = []
    err: list[str] = []
    for pid, origin, stream, text in lines:
        if stream == EVENT_STREAM:
            _write(out, err)
            dispatch(text, pid, node_id, origin)
            continue
        (err if stream == "err" else out).append(f"{prefix(origin, pid, node_id)} {text}\n")
    _write(out, err)


def _write(out: list[str], err: list[str]) -> None:
    # sys.stdout is looked up each time: progress bars wrap it to keep out of the way.
    try:
        if out:
            sys.stdout.write("".join(out))
            sys.stdout.flush()
        if err:
            sys.stderr.write("".join(err))
            sys.stderr.flush()
    except (OSError, ValueError):
        pass  # the driver's terminal is gone or closed: nothing to print to
    out.clear()
    err.clear()
