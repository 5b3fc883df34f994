"""Actor call rows: 1:1 sync/async, awaited from asyncio, n:n, 1:n, and round-trip latency.

Each 1:1 row exists for a *plain* actor (ordinary methods) and an *async* actor
(``async def`` methods), because the two run method calls differently (thread or
serial executor vs. an event loop) and a framework can be fast at one and slow at the other.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

from benchmarks.backends import actor_cap
from benchmarks.metrics import Metric, Metrics, measure_rate, measure_rate_async, percentile, rate
from benchmarks.scale import Scale


class PlainActor:
    """A tiny actor with an ordinary method."""

    def ping(self) -> int:
        return 0


class AsyncActor:
    """A tiny actor whose method is a coroutine."""

    async def ping(self) -> int:
        return 0


class Caller:
    """An async actor that calls its own target actor for a while (for the n:n row)."""

    async def run(self, target: Any, seconds: float, batch: int) -> int:
        done = 0
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            await asyncio.gather(*[target.ping.remote() for _ in range(batch)])
            done += batch
        return done


def _start(backend: ModuleType, cls: type) -> Any:
    """Create one actor of ``cls`` and wait until it has answered a first call."""
    handle = backend.remote(cls).remote()
    backend.get(handle.ping.remote())
    return handle


# --- 1:1, driver blocking on get -------------------------------------------------------


def _calls_sync(backend: ModuleType, scale: Scale, cls: type) -> list[float]:
    ping, get, chunk = _start(backend, cls).ping, backend.get, scale.sync_chunk

    def work() -> int:
        for _ in range(chunk):
            get(ping.remote())
        return chunk

    return measure_rate(work, warmup=scale.warmup, min_time=scale.min_time, trials=scale.trials)


def _calls_async(backend: ModuleType, scale: Scale, cls: type) -> list[float]:
    ping, get, batch = _start(backend, cls).ping, backend.get, scale.batch

    def work() -> int:
        get([ping.remote() for _ in range(batch)])
        return batch

    return measure_rate(work, warmup=scale.warmup, min_time=scale.min_time, trials=scale.trials)


def actor_calls_sync(backend: ModuleType, scale: Scale) -> Metrics:
    """1:1 calls/s to a plain actor: call, ``get`` the result, repeat (full round trips)."""
    return {"actor_calls_sync": rate(_calls_sync(backend, scale, PlainActor), "calls/s")}


def actor_calls_async(backend: ModuleType, scale: Scale) -> Metrics:
    """1:1 calls/s to a plain actor: submit a batch of calls, then ``get`` them all."""
    return {"actor_calls_async": rate(_calls_async(backend, scale, PlainActor), "calls/s")}


def async_actor_calls_sync(backend: ModuleType, scale: Scale) -> Metrics:
    """1:1 calls/s to an async actor: call, ``get`` the result, repeat (full round trips)."""
    return {"async_actor_calls_sync": rate(_calls_sync(backend, scale, AsyncActor), "calls/s")}


def async_actor_calls_async(backend: ModuleType, scale: Scale) -> Metrics:
    """1:1 calls/s to an async actor: submit a batch of calls, then ``get`` them all."""
    return {"async_actor_calls_async": rate(_calls_async(backend, scale, AsyncActor), "calls/s")}


# --- 1:1, driver is an asyncio coroutine -----------------------------------------------


def _calls_awaited(backend: ModuleType, scale: Scale, cls: type, gather: bool) -> list[float]:
    ping, chunk, batch = _start(backend, cls).ping, scale.sync_chunk, scale.batch

    async def one_by_one() -> int:
        for _ in range(chunk):
            await ping.remote()
        return chunk

    async def gathered() -> int:
        await asyncio.gather(*[ping.remote() for _ in range(batch)])
        return batch

    work: Callable[[], Any] = gathered if gather else one_by_one

    async def main() -> list[float]:
        return await measure_rate_async(
            work, warmup=scale.warmup, min_time=scale.min_time, trials=scale.trials
        )

    return asyncio.run(main())


def actor_calls_await(backend: ModuleType, scale: Scale) -> Metrics:
    """Calls/s to a plain actor, each ``await``-ed in a driver coroutine before the next.

    The asyncio-native round trip: how fast an ``await ref`` resolves in the caller's loop.
    """
    samples = _calls_awaited(backend, scale, PlainActor, gather=False)
    return {"actor_calls_await": rate(samples, "calls/s")}


def actor_calls_gather(backend: ModuleType, scale: Scale) -> Metrics:
    """Calls/s to a plain actor, a batch at a time under ``asyncio.gather`` in the driver."""
    samples = _calls_awaited(backend, scale, PlainActor, gather=True)
    return {"actor_calls_gather": rate(samples, "calls/s")}


def async_actor_calls_await(backend: ModuleType, scale: Scale) -> Metrics:
    """Calls/s to an async actor, each ``await``-ed in a driver coroutine before the next."""
    samples = _calls_awaited(backend, scale, AsyncActor, gather=False)
    return {"async_actor_calls_await": rate(samples, "calls/s")}


def async_actor_calls_gather(backend: ModuleType, scale: Scale) -> Metrics:
    """Calls/s to an async actor, a batch at a time under ``asyncio.gather`` in the driver."""
    samples = _calls_awaited(backend, scale, AsyncActor, gather=True)
    return {"async_actor_calls_gather": rate(samples, "calls/s")}


# --- many callers / many callees ---------------------------------------------------------


def nn_actor_calls(backend: ModuleType, scale: Scale) -> Metrics:
    """n:n calls/s: n caller actors, each calling its own plain actor in batches.

    Aggregate throughput when calls do not go through the driver at all: actor-to-actor
    messaging, with handles passed as arguments. Calls per second summed over callers,
    over the wall time the driver sees from start to the last caller finishing.
    """
    get, n = backend.get, scale.n
    targets = [_start(backend, PlainActor) for _ in range(n)]
    callers = [backend.remote(Caller).remote() for _ in range(n)]

    def one_trial(seconds: float) -> float:
        start = time.perf_counter()
        runs = [c.run.remote(t, seconds, scale.batch)
                for c, t in zip(callers, targets, strict=True)]
        counts = get(runs)
        return float(sum(counts)) / (time.perf_counter() - start)

    one_trial(scale.warmup)
    samples = [one_trial(scale.min_time) for _ in range(scale.trials)]
    return {"nn_actor_calls": rate(samples, "calls/s"), "n": Metric(n, "actors", None)}


def one_to_n_actor_calls(backend: ModuleType, scale: Scale) -> Metrics:
    """1:n calls/s: the driver submits a batch spread over n plain actors, gets them all.

    Whether one client can keep several actors busy: fan-out throughput from one driver.
    """
    get, n, batch = backend.get, scale.n, scale.batch
    pings = [_start(backend, PlainActor).ping for _ in range(n)]

    def work() -> int:
        get([pings[i % n].remote() for i in range(batch)])
        return batch

    samples = measure_rate(work, warmup=scale.warmup, min_time=scale.min_time, trials=scale.trials)
    return {"one_to_n_actor_calls": rate(samples, "calls/s"), "n": Metric(n, "actors", None)}


def fan_out_calls(backend: ModuleType, scale: Scale) -> Metrics:
    """1:N fan-out: the driver calls each of N plain actors once and waits for all, repeatedly.

    The scatter/gather step of a parameter server or a map over workers: rounds/s (and
    calls/s) when every round touches every actor once, so each call of a round goes to a
    different actor (one message each, no batching on one connection).
    """
    get = backend.get
    n = actor_cap(backend, scale.fan_out, scale.fan_out_process_cap)
    pings = [_start(backend, PlainActor).ping for _ in range(n)]

    def work() -> int:
        get([ping.remote() for ping in pings])
        return 1

    samples = measure_rate(work, warmup=scale.warmup, min_time=scale.min_time, trials=scale.trials)
    return {
        "fan_out_rounds": rate(samples, "rounds/s"),
        "fan_out_calls": rate([s * n for s in samples], "calls/s"),
        "n": Metric(n, "actors", None),
    }


# --- latency -------------------------------------------------------------------------------


def _latencies_us(backend: ModuleType, scale: Scale, cls: type) -> list[float]:
    ping, get = _start(backend, cls).ping, backend.get
    for _ in range(scale.latency_warmup):
        get(ping.remote())
    samples = []
    for _ in range(scale.latency_samples):
        start = time.perf_counter()
        get(ping.remote())
        samples.append((time.perf_counter() - start) * 1e6)
    samples.sort()
    return samples


def actor_call_latency(backend: ModuleType, scale: Scale) -> Metrics:
    """Round-trip latency of one sync actor call (submit + get), p50 and p99 in µs.

    Sampled one call at a time after a warm-up, for a plain and for an async actor.
    Throughput rows hide tail latency; this row shows it.
    """
    metrics: Metrics = {}
    for prefix, cls in (("", PlainActor), ("async_actor_", AsyncActor)):
        lat = _latencies_us(backend, scale, cls)
        metrics[f"{prefix}p50_us"] = Metric(percentile(lat, 50), "us", "lower")
        metrics[f"{prefix}p99_us"] = Metric(percentile(lat, 99), "us", "lower")
    return metrics
