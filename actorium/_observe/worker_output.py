"""Worker side of log collection: every line a worker prints carries its origin.

A worker's stdout and stderr are pipes to its node. Lines are written as ``origin US text``
(``US`` = the ASCII unit separator), where ``origin`` names the actor or task whose code printed
the line, so the node can prefix it like Ray does (``(Counter pid=1234 node=...)``) and file it
under that actor. Output that bypasses ``sys.stdout`` (a crash written by the interpreter to
fd 2) arrives untagged and is filed under the worker.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from typing import Any, TextIO

from actorium._core.context import current_execution

SEPARATOR = "\x1f"


# Set by the worker to name the class of a hosted actor; the execution context only knows
# the actor's id and the method.
class_of: Callable[[bytes], str | None] = lambda _actor_id: None  # noqa: E731


def current_origin() -> str:
    """``Class:actor_id`` for actor code, ``function`` for a task, ``""`` otherwise."""
    execution = current_execution.get()
    if execution is None:
        return ""
    if execution.actor_id is not None:
        name = class_of(execution.actor_id) or "actor"
        return f"{name}:{execution.actor_id.hex()}"
    return execution.function_name


class OriginTaggedStream(io.TextIOBase):
    """A text stream that writes whole lines, each prefixed with the origin of its writer.

    Partial lines are kept per thread until their newline (or a flush), so two threads
    printing at once never interleave inside one line.
    """

    def __init__(self, target: TextIO) -> None:
        self._target = target
        self._lock = threading.Lock()
        self._partial = threading.local()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self._target.encoding

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return self._target.fileno()

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        pending: str = getattr(self._partial, "text", "") + text
        if "\n" not in pending:
            self._partial.text = pending
            return len(text)
        *lines, rest = pending.split("\n")
        self._partial.text = rest
        self._emit(lines)
        return len(text)

    def flush(self) -> None:
        rest = getattr(self._partial, "text", "")
        if rest:
            self._partial.text = ""
            self._emit([rest])
        with self._lock:
            self._target.flush()

    def _emit(self, lines: list[str]) -> None:
        origin = current_origin()
        tagged = "".join(f"{origin}{SEPARATOR}{line}\n" for line in lines)
        with self._lock:
            self._target.write(tagged)
            self._target.flush()


def install(streams: Any) -> None:
    """Replace ``sys.stdout`` and ``sys.stderr`` of this worker with tagging streams."""
    streams.stdout = OriginTaggedStream(streams.__stdout__)
    streams.stderr = OriginTaggedStream(streams.__stderr__)
