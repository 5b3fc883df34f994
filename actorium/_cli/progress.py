"""Progress for people waiting at a terminal: a line that says what we wait for, and how long.

Silent for the first second (most waits end sooner) and when stderr is not a terminal, so
scripts and logs stay clean.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

_shown = False


def waiting(what: str, *, after: float = 1.0) -> Callable[[float], None]:
    """A callback taking the seconds waited so far; it redraws one status line on stderr."""

    def show(seconds: float) -> None:
        global _shown
        if seconds < after or not sys.stderr.isatty():
            return
        _shown = True
        sys.stderr.write(f"\rwaiting for {what}... {seconds:4.0f} s")
        sys.stderr.flush()

    return show


def finish_waiting() -> None:
    """End the status line, if one was drawn."""
    global _shown
    if _shown:
        sys.stderr.write("\n")
        sys.stderr.flush()
        _shown = False
