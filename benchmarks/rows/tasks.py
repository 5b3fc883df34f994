"""Task rows: tiny remote functions submitted from the driver."""

from __future__ import annotations

from types import ModuleType
from typing import Any

from benchmarks.metrics import Metrics, measure_rate, rate
from benchmarks.scale import Scale


def noop() -> int:
    """The tiny task: no arguments, returns a small constant."""
    return 0


def _remote_noop(backend: ModuleType) -> Any:
    task = backend.remote(noop)
    backend.get(task.remote())  # first call: whatever lazy start-up the backend does
    return task


def tasks_sync(backend: ModuleType, scale: Scale) -> Metrics:
    """Tiny tasks per second, submitted one at a time and waited for before the next.

    The full round-trip cost of a task: submit, schedule, run, store result, get.
    """
    task, get, chunk = _remote_noop(backend), backend.get, scale.sync_chunk

    def work() -> int:
        for _ in range(chunk):
            get(task.remote())
        return chunk

    samples = measure_rate(work, warmup=scale.warmup, min_time=scale.min_time, trials=scale.trials)
    return {"tasks_sync": rate(samples, "tasks/s")}


def tasks_async(backend: ModuleType, scale: Scale) -> Metrics:
    """Tiny tasks per second, submitting a batch then getting all the results.

    Throughput when submission is pipelined: the per-task cost without a round trip each.
    """
    task, get, batch = _remote_noop(backend), backend.get, scale.batch

    def work() -> int:
        get([task.remote() for _ in range(batch)])
        return batch

    samples = measure_rate(work, warmup=scale.warmup, min_time=scale.min_time, trials=scale.trials)
    return {"tasks_async": rate(samples, "tasks/s")}


def tasks_wait_pipeline(backend: ModuleType, scale: Scale) -> Metrics:
    """Tiny tasks per second with a bounded window: ``wait`` for one, submit one more.

    The common "keep K tasks in flight" pattern (K = sync_chunk, 100 at full scale),
    which calls ``wait`` on a list of K refs once per completed task.
    """
    task, wait, window = _remote_noop(backend), backend.wait, scale.sync_chunk
    in_flight = [task.remote() for _ in range(window)]

    def work() -> int:
        nonlocal in_flight
        for _ in range(scale.sync_chunk):
            _ready, in_flight = wait(in_flight, num_returns=1)
            in_flight.append(task.remote())
        return scale.sync_chunk

    samples = measure_rate(work, warmup=scale.warmup, min_time=scale.min_time, trials=scale.trials)
    backend.get(in_flight)
    return {"tasks_wait_pipeline": rate(samples, "tasks/s")}
