"""Driver events: a function call sent from any task or actor to the driver, in its output.

``emit(handler, payload)`` in a worker prints one line that starts with ``MARK``; the line
travels like any other worker output (worker pipe, node, ``LOG_LINES`` to the driver), so it
arrives in order with what the same code printed before and after it. The node keeps such
lines out of its log files and log views; the driver, instead of printing the line, calls
``handler(payload, origin)`` on its io thread. In the driver itself ``emit`` calls the
handler at once.

The handler is named by its module and qualified name, and is only looked up in modules the
driver has already imported (or in actorium itself): a worker cannot make the driver import
anything. The payload must be JSON (no pickling on the way). Nothing arrives when the
driver was started with ``log_to_driver=False``.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from actorium._core import context

MARK = "\x1eactorium-event "
STREAM = "event"      # the stream name such lines carry from the node to the driver

_log = logging.getLogger("actorium.driver_events")


@dataclass(frozen=True)
class Origin:
    """Where an event came from: the process, its node, and the actor or task it ran."""

    pid: int
    node_id: str
    label: str          # "Class:actor_id", a function name, or "" (the driver itself)
    local: bool         # emitted by the driver process itself


Handler = Callable[[Any, Origin], None]


def emit(handler: Handler, payload: Any) -> None:
    """Have the driver call ``handler(payload, origin)``; does not block.

    ``handler`` must be a module-level function (found by name in the driver); ``payload``
    must be JSON-serializable (``TypeError`` otherwise).
    """
    path = f"{handler.__module__}:{handler.__qualname__}"
    if "<locals>" in path or "<lambda>" in path:
        raise TypeError(f"a driver event handler must be a module-level function, got {path}")
    text = json.dumps([path, payload], separators=(",", ":"))
    runtime = context.maybe_runtime()
    if runtime is None or runtime.role == "driver":
        handler(json.loads(text)[1], Origin(0, "", "", True))
        return
    stream = sys.stdout
    stream.write(MARK + text + "\n")
    stream.flush()


def is_event(text: str) -> bool:
    return text.startswith(MARK)


def dispatch(text: str, pid: int, node_id: str, label: str) -> None:
    """Driver side: call the handler an event line names (bad lines are logged, dropped)."""
    try:
        path, payload = json.loads(text[len(MARK):])
        module_name, _, qualname = path.partition(":")
        module = sys.modules.get(module_name)
        if module is None and module_name.startswith("actorium."):
            module = __import__(module_name, fromlist=["_"])
        if module is None:
            _log.warning("driver event for %s dropped: the driver has not imported %s",
                         path, module_name)
            return
        handler: Any = module
        for part in qualname.split("."):
            handler = getattr(handler, part)
    except (ValueError, AttributeError, ImportError, TypeError) as exc:
        _log.warning("malformed driver event from pid %s dropped: %s", pid, exc)
        return
    try:
        handler(payload, Origin(pid, node_id, label, False))
    except Exception:  # noqa: BLE001 - a handler's bug must not stop the driver's io thread
        _log.exception("driver event handler %s failed", path)
