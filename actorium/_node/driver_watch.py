"""Noticing drivers that vanish without saying goodbye (SIGKILL, a lost machine).

A driver connected to a cluster is not the node's child, so no pipe tells the node that it
died. Every driver reports to its node every two seconds (its object summary, see
``_observe.worker_stats.report_driver_objects``); a driver not heard from for ``TIMEOUT``
seconds is treated as gone: its non-detached actors are reaped, as when it disconnects.
The reports come from the driver's I/O thread, so only a driver that holds the GIL for the
whole timeout (a long C call that does not release it) could be mistaken for a dead one;
embedded runtimes are not watched at all (their node dies with the driver).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

TIMEOUT = 10.0
_CHECK_EVERY = 1.0


class DriverWatch:
    """When each registered driver was last heard of; calls ``on_lost`` for silent ones."""

    def __init__(self, loop: asyncio.AbstractEventLoop,
                 on_lost: Callable[[str], None]) -> None:
        self._loop = loop
        self._on_lost = on_lost
        self._last_heard: dict[str, float] = {}
        self._timer: asyncio.TimerHandle | None = None

    def heard(self, address: str) -> None:
        self._last_heard[address] = self._loop.time()
        if self._timer is None:
            self._timer = self._loop.call_later(_CHECK_EVERY, self._check)

    def forget(self, address: str) -> None:
        self._last_heard.pop(address, None)

    def _check(self) -> None:
        self._timer = None
        deadline = self._loop.time() - TIMEOUT
        for address, when in list(self._last_heard.items()):
            if when < deadline:
                del self._last_heard[address]
                self._on_lost(address)
        if self._last_heard:
            self._timer = self._loop.call_later(_CHECK_EVERY, self._check)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
