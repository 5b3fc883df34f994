"""``faulty(*faults, seed=0, reliable=False, **init_options)``: this test's own runtime under
a fault plan, shut down and checked for leftovers afterwards (the suite's ``start_runtime``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from actorium.testing import inject_faults


@pytest.fixture
def faulty(no_runtime: None, start_runtime: Callable[..., Any]) -> Callable[..., Any]:
    def start(*faults: Any, seed: int = 0, reliable: bool = False, **init_options: Any) -> Any:
        with inject_faults(*faults, seed=seed, reliable=reliable):
            return start_runtime(**init_options)

    return start
