"""Everything that differs between backends lives here, and only here.

Both backends expose the same Ray Core API (``init``, ``shutdown``, ``remote``, ``get``,
``put``, ``wait``, ``kill``, ``.remote()``, ``.options()``); what differs is how the
runtime is started, which environment variables keep it quiet, and whether each actor
is a whole OS process (which caps how many actors a row may sensibly create).
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType
from typing import Any

BACKENDS = ("actorium", "ray")

# Extra keyword arguments for init(), per backend. Ray's dashboard is a separate set of
# processes that actorium has no equivalent of in a default init; turn it off for parity.
_INIT_KWARGS: dict[str, dict[str, Any]] = {
    "actorium": {},
    "ray": {"include_dashboard": False, "log_to_driver": False},
}

# Environment for the row subprocess (inherited by the runtime processes it starts).
_ENV: dict[str, dict[str, str]] = {
    "actorium": {},
    "ray": {"RAY_USAGE_STATS_ENABLED": "0"},
}

# Backends where every actor is its own worker process (so tens, not thousands, of actors).
_ACTOR_IS_PROCESS: dict[str, bool] = {"actorium": False, "ray": True}


def check(name: str) -> str:
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; expected one of {BACKENDS}")
    return name


def load(name: str) -> ModuleType:
    """Import the backend module by name (``actorium`` or ``ray``)."""
    return importlib.import_module(check(name))


def name_of(backend: ModuleType) -> str:
    return check(backend.__name__.split(".")[0])


def init_kwargs(name: str, num_cpus: int | None = None) -> dict[str, Any]:
    """The keyword arguments every row passes to ``backend.init``."""
    kwargs: dict[str, Any] = {"num_cpus": num_cpus or os.cpu_count() or 1}
    kwargs.update(_INIT_KWARGS[check(name)])
    return kwargs


def env(name: str) -> dict[str, str]:
    """Environment variables to add for a row subprocess running this backend."""
    return dict(_ENV[check(name)])


def actor_cap(backend: ModuleType, requested: int, process_cap: int) -> int:
    """How many actors a row should create: ``requested``, or ``process_cap`` if each
    actor is an OS process on this backend."""
    if _ACTOR_IS_PROCESS[name_of(backend)]:
        return min(requested, process_cap)
    return requested


def version(backend: ModuleType) -> str:
    return str(getattr(backend, "__version__", "unknown"))
