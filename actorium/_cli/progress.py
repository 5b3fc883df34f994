"""Progress for people waiting at a terminal: a bar that says what we wait for, and how long.

Silent for the first second (most waits end sooner). The bar is one of the process's
terminal bars (``_observe.progress``), so anything printed meanwhile scrolls above it; when
stderr is not a terminal it prints one line at the end instead.
"""

from __future__ import annotations

from collections.abc import Callable

from actorium._observe.progress import progress_bar

_current: list[progress_bar] = []


def waiting(what: str, *, after: float = 1.0) -> Callable[[float], None]:
    """A callback taking the seconds waited so far; it shows and refreshes the bar."""

    def show(seconds: float) -> None:
        if seconds < after:
            return
        if not _current:
            _current.append(progress_bar(f"waiting for {what}", unit=""))
        _current[0].set(0)

    return show


def finish_waiting() -> None:
    """End the bar, if one was shown."""
    while _current:
        _current.pop().close()
