"""The registry of benchmark rows, in table order.

A row is a function ``(backend module, Scale) -> dict[str, Metric]`` whose docstring says
what it measures and why. Unless ``manages_runtime`` is set, the worker calls
``backend.init(...)`` before the row and ``backend.shutdown()`` after it.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

from benchmarks.metrics import Metrics
from benchmarks.rows import actors, floor, large_values, objects, runtime, store, streaming, tasks
from benchmarks.scale import Scale

RowFn = Callable[[ModuleType, Scale], Metrics]


@dataclass(frozen=True)
class Row:
    name: str
    fn: RowFn
    manages_runtime: bool = False

    @property
    def summary(self) -> str:
        """First line of the row function's docstring."""
        return (self.fn.__doc__ or "").strip().splitlines()[0]


ROWS: tuple[Row, ...] = (
    Row("raw_floor", floor.raw_floor, manages_runtime=True),
    Row("put_small", objects.put_small),
    Row("get_small", objects.get_small),
    Row("put_get_large", objects.put_get_large),
    Row("put_get_by_size", store.put_get_by_size),
    Row("array_to_ten_tasks", store.array_to_ten_tasks),
    Row("bytes_by_size", large_values.bytes_by_size),
    Row("str_by_size", large_values.str_by_size),
    Row("bytearray_by_size", large_values.bytearray_by_size),
    Row("tasks_sync", tasks.tasks_sync),
    Row("tasks_async", tasks.tasks_async),
    Row("tasks_wait_pipeline", tasks.tasks_wait_pipeline),
    Row("actor_calls_sync", actors.actor_calls_sync),
    Row("actor_calls_async", actors.actor_calls_async),
    Row("async_actor_calls_sync", actors.async_actor_calls_sync),
    Row("async_actor_calls_async", actors.async_actor_calls_async),
    Row("actor_calls_await", actors.actor_calls_await),
    Row("actor_calls_gather", actors.actor_calls_gather),
    Row("async_actor_calls_await", actors.async_actor_calls_await),
    Row("async_actor_calls_gather", actors.async_actor_calls_gather),
    Row("nn_actor_calls", actors.nn_actor_calls),
    Row("one_to_n_actor_calls", actors.one_to_n_actor_calls),
    Row("fan_out_calls", actors.fan_out_calls),
    Row("actor_call_latency", actors.actor_call_latency),
    Row("stream_actor_items_sync", streaming.stream_actor_items_sync),
    Row("stream_actor_items_async", streaming.stream_actor_items_async),
    Row("stream_task_items", streaming.stream_task_items),
    Row("stream_first_item", streaming.stream_first_item),
    Row("stream_item_latency", streaming.stream_item_latency),
    Row("stream_memory_flat", streaming.stream_memory_flat),
    Row("actor_creation", runtime.actor_creation),
    Row("idle_actors", runtime.idle_actors),
    Row("init_shutdown", runtime.init_shutdown, manages_runtime=True),
)

_BY_NAME = {row.name: row for row in ROWS}


def get_row(name: str) -> Row:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown row {name!r}; known rows: {', '.join(_BY_NAME)}") from None


def select(pattern: str | None) -> list[Row]:
    """Rows matching ``pattern``: comma-separated parts, each an exact row name, a glob
    (``actor_*``) or else a substring (``large``)."""
    if not pattern:
        return list(ROWS)
    parts = [p.strip() for p in pattern.split(",") if p.strip()]

    def matches(name: str, part: str) -> bool:
        if part in _BY_NAME:
            return name == part
        if any(ch in part for ch in "*?["):
            return fnmatch.fnmatchcase(name, part)
        return part in name

    chosen = [row for row in ROWS if any(matches(row.name, p) for p in parts)]
    if not chosen:
        raise ValueError(f"no row matches {pattern!r}")
    return chosen
