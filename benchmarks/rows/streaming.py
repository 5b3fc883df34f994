"""Streaming generator rows: items/s from an actor (sync and ``async for``) and from a task,
time to the first item, latency from ``yield`` to the consumer, and memory over a long stream.

Every row uses Ray's API as is (``num_returns="streaming"`` is the default for a generator),
so the same code measures both backends. Items are small ints: the rows time the per-item
path (pack, send, hand out in order, acknowledge), not serialization of big values.

The sizes of these rows are here, not in :mod:`benchmarks.scale`, because only these rows
use them; :data:`STREAM_SCALES` is keyed by the scale's name.
"""

from __future__ import annotations

import asyncio
import gc
import time
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from benchmarks.metrics import Metric, Metrics, measure_rate, measure_rate_async, percentile, rate
from benchmarks.procmem import snapshot
from benchmarks.scale import Scale


@dataclass(frozen=True)
class StreamScale:
    """Sizes of the streaming rows at one scale."""

    # Items per stream in the throughput rows (one stream is one unit of work).
    items: int
    # Time to first item: streams started, after first_warmup discarded ones.
    first_samples: int
    first_warmup: int
    # Per-item latency: items sampled (after latency_warmup), the producer's pause between.
    latency_items: int
    latency_warmup: int
    latency_pause: float
    # Memory over a long stream: items read, memory sampled every memory_every items,
    # and the back-pressure both backends get (Ray's default is none at all).
    memory_items: int
    memory_every: int
    backpressure: int


STREAM_SCALES: dict[str, StreamScale] = {
    "full": StreamScale(items=1000, first_samples=300, first_warmup=30, latency_items=2000,
                        latency_warmup=200, latency_pause=0.001, memory_items=100_000,
                        memory_every=10_000, backpressure=128),
    "smoke": StreamScale(items=20, first_samples=10, first_warmup=2, latency_items=30,
                         latency_warmup=5, latency_pause=0.001, memory_items=2000,
                         memory_every=500, backpressure=16),
}


class Streamer:
    """An actor whose generator methods yield small values as fast as it can."""

    def numbers(self, n: int) -> Any:
        # Not ``yield from range(n)``: Ray resumes generators with ``send()``, which a
        # delegated range iterator does not have.
        for i in range(n):
            yield i

    def stamps(self, n: int, pause: float) -> Any:
        """Yield the monotonic clock (system-wide on Linux) at the moment of each ``yield``."""
        for _ in range(n):
            time.sleep(pause)
            yield time.monotonic()

    def ready(self) -> int:
        return 0


def numbers(n: int) -> Any:
    """The task twin of :meth:`Streamer.numbers`."""
    for i in range(n):
        yield i


def _streamer(backend: ModuleType) -> Any:
    actor = backend.remote(Streamer).remote()
    backend.get(actor.ready.remote())
    return actor


def _consume(backend: ModuleType, gen: Any) -> int:
    get, count = backend.get, 0
    for ref in gen:
        get(ref)
        count += 1
    return count


def _sizes(scale: Scale) -> StreamScale:
    return STREAM_SCALES[scale.name]


def stream_actor_items_sync(backend: ModuleType, scale: Scale) -> Metrics:
    """Items/s from an actor's generator to the driver, read with ``for ref in gen: get(ref)``.

    One unit of work is a whole stream of ``items`` small ints, so the figure includes the
    call that starts it and the end of the stream, as a user's loop sees them.
    """
    method, n = _streamer(backend).numbers, _sizes(scale).items

    def work() -> int:
        return _consume(backend, method.remote(n))

    samples = measure_rate(work, warmup=scale.warmup, min_time=scale.min_time, trials=scale.trials)
    return {"stream_actor_items_sync": rate(samples, "items/s")}


def stream_actor_items_async(backend: ModuleType, scale: Scale) -> Metrics:
    """Items/s from an actor's generator to a driver coroutine: ``async for ref in gen``,
    each item awaited (the asyncio application's way to read a stream)."""
    method, n = _streamer(backend).numbers, _sizes(scale).items

    async def work() -> int:
        count = 0
        async for ref in method.remote(n):
            await ref
            count += 1
        return count

    async def main() -> list[float]:
        return await measure_rate_async(work, warmup=scale.warmup, min_time=scale.min_time,
                                        trials=scale.trials)

    return {"stream_actor_items_async": rate(asyncio.run(main()), "items/s")}


def stream_task_items(backend: ModuleType, scale: Scale) -> Metrics:
    """Items/s from a generator task (a remote function that yields) to the driver."""
    task, n = backend.remote(numbers), _sizes(scale).items
    _consume(backend, task.remote(1))  # the first task starts a worker

    def work() -> int:
        return _consume(backend, task.remote(n))

    samples = measure_rate(work, warmup=scale.warmup, min_time=scale.min_time, trials=scale.trials)
    return {"stream_task_items": rate(samples, "items/s")}


def stream_first_item(backend: ModuleType, scale: Scale) -> Metrics:
    """Time from calling an actor's generator method to holding the value of its first item
    (p50 and p99, µs): what a user waiting for the first token sees."""
    sizes = _sizes(scale)
    method, get = _streamer(backend).numbers, backend.get
    samples = []
    for i in range(sizes.first_warmup + sizes.first_samples):
        start = time.perf_counter()
        gen = method.remote(3)
        get(next(gen))
        took = (time.perf_counter() - start) * 1e6
        for ref in gen:  # finish the stream, so the next call starts on an idle actor
            get(ref)
        if i >= sizes.first_warmup:
            samples.append(took)
    samples.sort()
    return {"first_item_p50_us": Metric(percentile(samples, 50), "us", "lower"),
            "first_item_p99_us": Metric(percentile(samples, 99), "us", "lower")}


def stream_item_latency(backend: ModuleType, scale: Scale) -> Metrics:
    """Latency from ``yield`` in the actor to the driver holding the item's value (p50, p99
    in µs). The producer pauses between items, so each one travels alone: the per-item path,
    not a queue, is measured. Both sides read the same system-wide monotonic clock."""
    sizes = _sizes(scale)
    get = backend.get
    gen = _streamer(backend).stamps.remote(sizes.latency_warmup + sizes.latency_items,
                                           sizes.latency_pause)
    samples = []
    for i, ref in enumerate(gen):
        stamp = get(ref)
        seen = time.monotonic()
        if i >= sizes.latency_warmup:
            samples.append((seen - stamp) * 1e6)
    samples.sort()
    return {"item_latency_p50_us": Metric(percentile(samples, 50), "us", "lower"),
            "item_latency_p99_us": Metric(percentile(samples, 99), "us", "lower")}


def stream_memory_flat(backend: ModuleType, scale: Scale) -> Metrics:
    """Memory while the driver reads a long stream from an actor: growth (MiB) from the first
    sample to the largest later one, over ``memory_items`` items read one at a time.

    Back-pressure keeps it flat: the producer pauses ``backpressure`` items ahead of the
    reader (the same limit for both backends; Ray's default is none). Memory is PSS (or RSS)
    of the driver and every process the runtime started.
    """
    sizes = _sizes(scale)
    get = backend.get
    actor = _streamer(backend)
    gen = actor.numbers.options(_generator_backpressure_num_objects=sizes.backpressure).remote(
        sizes.memory_items)
    readings: list[int] = []
    kind = "RSS"
    start = time.perf_counter()
    for i, ref in enumerate(gen, start=1):
        get(ref)
        if i % sizes.memory_every == 0:
            del ref
            gc.collect()
            memory = snapshot()
            readings.append(memory.total)
            kind = memory.kind
    elapsed = time.perf_counter() - start
    if len(readings) < 2:
        raise RuntimeError(f"stream_memory_flat needs at least 2 samples, got {len(readings)}")
    growth = max(max(readings[1:]) - readings[0], 0) / 2**20
    return {
        # Growth can be 0 on a flat stream; keep the figure positive so ratios stay defined.
        "stream_memory_growth_mib": Metric(max(growth, 0.01), f"MiB {kind}", "lower"),
        "stream_memory_mib": Metric(max(readings) / 2**20, f"MiB {kind}", "lower"),
        "stream_memory_items_per_s": Metric(sizes.memory_items / elapsed, "items/s", "higher"),
        "stream_memory_items": Metric(sizes.memory_items, "items", None),
    }
