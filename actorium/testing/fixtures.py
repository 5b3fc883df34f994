"""pytest fixtures for testing actors under faults; enable with
``pytest_plugins = ["actorium.testing.fixtures"]`` in your ``conftest.py``.

``faulty_runtime(*faults, seed=0, reliable=False, **init_options)`` starts a runtime whose
processes apply the faults (above reliable links with ``reliable=True``), and shuts it down
after the test, pass or fail.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from actorium._api import init, is_initialized, shutdown
from actorium._faults.plan import MessageFault
from actorium.testing.faults import inject_faults


@pytest.fixture
def faulty_runtime() -> Iterator[Callable[..., Any]]:
    """Factory: ``faulty_runtime(drop("replies", 0.25), seed=7, num_cpus=2)`` -> init()'s info."""
    with ExitStack() as stack:
        def start(*faults: MessageFault, seed: int = 0, reliable: bool = False,
                  **init_options: Any) -> Any:
            stack.enter_context(inject_faults(*faults, seed=seed, reliable=reliable))
            return init(**init_options)

        try:
            yield start
        finally:
            if is_initialized():
                shutdown()
