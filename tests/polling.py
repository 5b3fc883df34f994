"""Waiting in tests for what the runtime reports asynchronously (stats arrive each second)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def eventually(check: Callable[[], T], timeout: float = 15.0, every: float = 0.1) -> T:
    """Poll ``check`` until it returns something truthy; fail with its last value."""
    deadline = time.monotonic() + timeout
    value = check()
    while not value and time.monotonic() < deadline:
        time.sleep(every)
        value = check()
    if not value:
        raise AssertionError(f"condition not met within {timeout} s (last: {value!r})")
    return value
