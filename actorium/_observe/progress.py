"""Progress bars in this process's terminal, kept below the output that scrolls above them.

One ``Terminal`` per process draws every live bar as a block of lines at the bottom of the
screen. While bars are shown, ``sys.stdout`` and ``sys.stderr`` are wrapped: whatever is
written (``print``, ``logging``, the lines workers print that the driver forwards) first
clears the block, goes out, and the block is drawn again below it, so output and bars never
garble each other. A partial line (no newline yet) keeps the bars hidden until it ends. When
the last bar closes the streams are unwrapped.

A closed bar is printed once more as an ordinary line, so its final state stays in the
scrollback. When stderr is not a terminal (a pipe, a file, CI) nothing is drawn live: each
bar prints one line when it closes.

Used by ``experimental.tqdm_ray`` (bars of tasks and actors, drawn by the driver) and by the
CLI for its long waits (``progress_bar``). Thread-safe.
"""

from __future__ import annotations

import shutil
import sys
import threading
import time
from collections.abc import Hashable
from typing import Any, TextIO

__all__ = ["Bar", "Terminal", "progress_bar", "terminal"]

_REDRAW_EVERY = 0.1
_CLEAR = "\r\x1b[J"            # to the start of the line, and clear to the end of the screen


class Bar:
    """The state of one bar: ``n`` of ``total`` (None: unknown) ``unit``s, since ``started``."""

    __slots__ = ("key", "desc", "n", "total", "unit", "started", "order")

    def __init__(self, key: Hashable, desc: str, total: float | None, unit: str,
                 order: tuple[Any, ...]) -> None:
        self.key = key
        self.desc = desc
        self.n: float = 0
        self.total = total
        self.unit = unit
        self.started = time.monotonic()
        self.order = order

    def render(self, width: int, now: float | None = None) -> str:
        """One line of at most ``width`` characters (``desc: 40%|████      | 4/10 [...]``)."""
        elapsed = max((now if now is not None else time.monotonic()) - self.started, 0.0)
        rate = self.n / elapsed if elapsed > 0 else 0.0
        head = f"{self.desc}: " if self.desc else ""
        count = _count(self.n)
        if self.total:
            fraction = min(max(self.n / self.total, 0.0), 1.0)
            left = (self.total - self.n) / rate if rate > 0 else None
            tail = (f"| {count}/{_count(self.total)} [{_clock(elapsed)}<"
                    f"{_clock(left) if left is not None else '?'}, {rate:.2f}{self.unit}/s]")
            head += f"{fraction * 100:3.0f}%|"
            room = min(width - len(head) - len(tail), 40)
            if room >= 4:
                filled = int(fraction * room)
                return head + "\u2588" * filled + " " * (room - filled) + tail
            return (head + tail)[:width]
        if not self.n and not self.unit:    # a wait: only how long it has lasted
            return f"{head}{_clock(elapsed)}"[:width]
        return (f"{head}{count}{self.unit} [{_clock(elapsed)}, {rate:.2f}{self.unit}/s]")[:width]


def _count(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}"


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


class _BarAwareStream:
    """Wraps sys.stdout or sys.stderr while bars are shown; everything else passes through."""

    def __init__(self, terminal: Terminal, target: TextIO) -> None:
        self._terminal = terminal
        self._target = target

    def write(self, text: str) -> int:
        return self._terminal.write_through(self._target, text)

    def flush(self) -> None:
        self._target.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target, name)


class Terminal:
    """Every bar of this process, and the wrapped streams while any is shown."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._bars: dict[Hashable, Bar] = {}
        self._drawn = 0             # bar lines on the screen now (the cursor is at the first)
        self._mid_line = False      # output without its newline yet: the bars stay hidden
        self._last_draw = 0.0
        self._sequence = 0
        self._out: TextIO | None = None     # the real streams, while wrapped
        self._err: TextIO | None = None

    # ------------------------------------------------------------------ bars
    def update(self, key: Hashable, *, desc: str | None = None, n: float | None = None,
               total: float | None = None, unit: str | None = None,
               group: Any = None, position: int = 0, force: bool = False) -> None:
        """Create or change a bar; redrawn at most every 0.1 s unless ``force``."""
        with self._lock:
            bar = self._bars.get(key)
            if bar is None:
                self._sequence += 1
                bar = Bar(key, desc or "", total, "it" if unit is None else unit,
                          (str(group), position, self._sequence))
                self._bars[key] = bar
                self._wrap_streams()
                force = True
            if desc is not None:
                bar.desc = desc
            if n is not None:
                bar.n = n
            if total is not None:
                bar.total = total
            if unit is not None:
                bar.unit = unit
            self._redraw(force)

    def close(self, key: Hashable) -> None:
        """Remove a bar; its last state is printed as an ordinary line."""
        with self._lock:
            bar = self._bars.pop(key, None)
            if bar is None:
                return
            err = self._err or sys.stderr
            live = self._live()
            self._clear()
            try:   # a log file or pipe has no width: the whole line
                err.write(bar.render(_width() if live else 200) + "\n")
                err.flush()
            except (OSError, ValueError):
                pass
            self._mid_line = False
            if self._bars:
                self._draw()
            else:
                self._unwrap_streams()

    def bars(self) -> list[Bar]:
        with self._lock:
            return sorted(self._bars.values(), key=lambda bar: bar.order)

    # ------------------------------------------------------------------ output
    def write_through(self, target: TextIO, text: str) -> int:
        """Write ``text`` to ``target`` with the bars moved out of its way."""
        with self._lock:
            if not text:
                return 0
            self._clear()
            written = target.write(text)
            target.flush()
            self._mid_line = not text.endswith("\n")
            if not self._mid_line:
                self._draw()
            return written

    # ------------------------------------------------------------------ drawing
    def _live(self) -> bool:
        err = self._err
        return err is not None and _isatty(err)

    def _redraw(self, force: bool) -> None:
        now = time.monotonic()
        if not force and now - self._last_draw < _REDRAW_EVERY:
            return
        if self._mid_line:
            return
        self._clear()
        self._draw()

    def _clear(self) -> None:
        if self._drawn and self._live():
            assert self._err is not None
            try:
                self._err.write(_CLEAR)
                self._err.flush()
            except (OSError, ValueError):
                pass
        self._drawn = 0

    def _draw(self) -> None:
        if not self._bars or not self._live():
            return
        assert self._err is not None
        width = _width()
        rows = max(shutil.get_terminal_size((80, 24)).lines - 2, 1)
        bars = self.bars()
        now = time.monotonic()
        lines = [bar.render(width, now) for bar in bars[:rows]]
        if len(bars) > rows:
            lines[-1] = f"... and {len(bars) - rows + 1} more bars"[:width]
        # Draw, then go back up to the first line: the next output starts there.
        up = f"\x1b[{len(lines) - 1}A" if len(lines) > 1 else ""
        try:
            self._err.write("\n".join(lines) + "\r" + up)
            self._err.flush()
        except (OSError, ValueError):
            return
        self._drawn = len(lines)
        self._last_draw = now

    def _wrap_streams(self) -> None:
        if self._err is not None:
            return
        self._out, self._err = sys.stdout, sys.stderr
        if _isatty(self._err):
            sys.stdout = _BarAwareStream(self, self._out)
            sys.stderr = _BarAwareStream(self, self._err)

    def _unwrap_streams(self) -> None:
        if isinstance(sys.stdout, _BarAwareStream) and self._out is not None:
            sys.stdout = self._out
        if isinstance(sys.stderr, _BarAwareStream) and self._err is not None:
            sys.stderr = self._err
        self._out = self._err = None
        self._drawn = 0
        self._mid_line = False


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def _width() -> int:
    return max(shutil.get_terminal_size((80, 24)).columns - 1, 20)


_terminal: Terminal | None = None
_terminal_lock = threading.Lock()


def terminal() -> Terminal:
    """This process's terminal (made on first use)."""
    global _terminal
    with _terminal_lock:
        if _terminal is None:
            _terminal = Terminal()
        return _terminal


class progress_bar:  # noqa: N801 - used like a function: ``with progress_bar(...) as bar:``
    """A bar of this process's terminal for a long operation, e.g. in the CLI::

        with progress_bar("waiting for nodes", total=3, unit=" nodes") as bar:
            while ...:
                bar.set(alive)

    Output printed meanwhile scrolls above it. Closed (and printed once) on exit.
    """

    def __init__(self, desc: str, *, total: float | None = None, unit: str = "it") -> None:
        self._key = object()
        self._terminal = terminal()
        self._terminal.update(self._key, desc=desc, total=total, unit=unit, n=0)

    def set_description(self, desc: str) -> None:
        self._terminal.update(self._key, desc=desc)

    def set(self, n: float, *, desc: str | None = None, total: float | None = None) -> None:
        self._terminal.update(self._key, n=n, desc=desc, total=total)

    def update(self, step: float = 1) -> None:
        with self._terminal._lock:
            bar = self._terminal._bars.get(self._key)
            if bar is not None:
                self._terminal.update(self._key, n=bar.n + step)

    def close(self) -> None:
        self._terminal.close(self._key)

    def __enter__(self) -> progress_bar:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
