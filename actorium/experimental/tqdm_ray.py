"""``tqdm`` for tasks and actors: their progress bars drawn together in the driver's terminal
(Ray's ``ray.experimental.tqdm_ray``).

Use it like tqdm, anywhere::

    from actorium.experimental.tqdm_ray import tqdm

    @actorium.remote
    def work(name):
        for item in tqdm(range(100), desc=name):
            ...

A bar in a task or actor sends its state to the driver at most every ``flush_interval_s``
seconds (and when it closes), as a driver event in that worker's output stream, so it stays
in order with what the worker prints. The driver draws every bar of every process as one
block at the bottom of its terminal, each named after its origin like forwarded log lines
(``(work pid=4312 node=1a2b3c4d) task 1``); printed lines, its own and the workers', scroll
above the block without garbling it. A bar made in the driver itself (or in a process
without a runtime) is drawn there directly. When the terminal is not a TTY, each bar prints
one line when it closes. Bars need ``log_to_driver`` (the default).

Supports the subset of tqdm that Ray supports: ``desc``, ``total``, ``unit``, ``position``,
``update``, ``set_description``, ``refresh``, ``close``, ``n``, ``total`` and iteration; a
bar also closes at the end of its iteration and works as a context manager.
"""

from __future__ import annotations

import builtins
import os
import time
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

from actorium._observe.driver_events import Origin, emit
from actorium._observe.driver_logs import prefix
from actorium._observe.progress import terminal

__all__ = ["safe_print", "tqdm"]

DEFAULT_FLUSH_INTERVAL_SECONDS = 0.25


class tqdm:  # noqa: N801 - Ray's (and tqdm's) name
    """A progress bar whose state is drawn by the driver (see the module docstring)."""

    DEFAULT_FLUSH_INTERVAL_SECONDS = DEFAULT_FLUSH_INTERVAL_SECONDS

    def __init__(self, iterable: Iterable[Any] | None = None, desc: str | None = None,
                 total: float | None = None, unit: str | None = None,
                 position: int | None = None, flush_interval_s: float | None = None) -> None:
        if total is None and iterable is not None:
            try:
                total = len(iterable)  # type: ignore[arg-type]
            except (TypeError, AttributeError):
                total = None
        if position is not None and (isinstance(position, bool) or
                                     not isinstance(position, int) or position < 0):
            raise ValueError(f"position must be an int >= 0, got {position!r}")
        if flush_interval_s is not None and flush_interval_s < 0:
            raise ValueError(f"flush_interval_s must be >= 0, got {flush_interval_s!r}")
        self._iterable = iterable
        self._desc = desc or ""
        self._total = total
        self._unit = unit or "it"
        self._pos = position or 0
        self._uuid = uuid.uuid4().hex
        self._x: float = 0
        self._closed = False
        self._flush_interval_s = (self.DEFAULT_FLUSH_INTERVAL_SECONDS
                                  if flush_interval_s is None else flush_interval_s)
        self._last_flush = 0.0
        self._dump_state(force=True)

    # ------------------------------------------------------------------ tqdm's API
    def set_description(self, desc: str) -> None:
        self._desc = desc
        self._dump_state()

    def update(self, n: float = 1) -> None:
        """Advance the bar by ``n``."""
        self._x += n
        self._dump_state()

    def refresh(self) -> None:
        self._dump_state(force=True)

    def close(self) -> None:
        """Finish the bar (its final state is sent at once); closing twice is harmless."""
        if self._closed:
            return
        self._closed = True
        self._dump_state(force=True)

    @property
    def total(self) -> float | None:
        return self._total

    @total.setter
    def total(self, total: float | None) -> None:
        self._total = total

    @property
    def n(self) -> float:
        return self._x

    @n.setter
    def n(self, n: float) -> None:
        self._x = n

    def __iter__(self) -> Iterator[Any]:
        if self._iterable is None:
            raise ValueError("No iterable provided")
        try:
            for item in self._iterable:
                self.update(1)
                yield item
        finally:
            self.close()

    def __enter__(self) -> tqdm:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"tqdm({self._desc!r}, {self._x}/{self._total})"

    # ------------------------------------------------------------------ to the driver
    def _dump_state(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_flush < self._flush_interval_s:
            return
        self._last_flush = now
        emit(_on_state, {"uuid": self._uuid, "desc": self._desc, "x": self._x,
                         "total": self._total, "unit": self._unit, "pos": self._pos,
                         "closed": self._closed, "pid": os.getpid()})


def _on_state(state: dict[str, Any], origin: Origin) -> None:
    """Driver side: draw (or finish) one bar of one process."""
    if origin.local:
        key = ("local", state["pid"], state["uuid"])
        desc = state["desc"]
    else:
        key = (origin.node_id, origin.pid, state["uuid"])
        desc = f"{prefix(origin.label, origin.pid, origin.node_id)} {state['desc']}"
    screen = terminal()
    screen.update(key, desc=desc, n=state["x"], total=state["total"], unit=state["unit"],
                  group=key[:2], position=state["pos"], force=state["closed"])
    if state["closed"]:
        screen.close(key)


def safe_print(*args: Any, **kwargs: Any) -> None:
    """``print`` that keeps clear of the bars; plain ``print`` does too while bars are shown
    (the driver's streams are wrapped), so this exists for Ray programs that call it."""
    builtins.print(*args, **kwargs)
