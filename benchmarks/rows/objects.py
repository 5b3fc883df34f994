"""Object store rows: ``put`` and ``get`` of small values and of a large numpy array."""

from __future__ import annotations

import statistics
import time
from types import ModuleType

from benchmarks.metrics import Metric, Metrics, measure_rate, rate
from benchmarks.scale import Scale


def put_small(backend: ModuleType, scale: Scale) -> Metrics:
    """Single-client ``put(0)`` calls per second.

    The fixed cost of storing a tiny object and minting an ObjectRef; the reference is
    dropped right away, so releasing it is part of the cost.
    """
    put, chunk = backend.put, scale.sync_chunk

    def work() -> int:
        for _ in range(chunk):
            put(0)
        return chunk

    samples = measure_rate(work, warmup=scale.warmup, min_time=scale.min_time, trials=scale.trials)
    return {"put_small": rate(samples, "calls/s")}


def get_small(backend: ModuleType, scale: Scale) -> Metrics:
    """Single-client ``get`` calls per second of one small object already in the store.

    The fixed cost of resolving a ready ObjectRef in the driver (lookup + deserialize).
    """
    get, chunk = backend.get, scale.sync_chunk
    ref = backend.put(0)

    def work() -> int:
        for _ in range(chunk):
            get(ref)
        return chunk

    samples = measure_rate(work, warmup=scale.warmup, min_time=scale.min_time, trials=scale.trials)
    return {"get_small": rate(samples, "calls/s")}


def put_get_large(backend: ModuleType, scale: Scale) -> Metrics:
    """Milliseconds per ``put`` and per ``get`` of a large (100 MiB at full scale) array.

    ``put`` has to copy the array into the store once. ``get`` is timed separately on
    distinct refs (each one's first get in the driver): the target is a zero-copy get,
    i.e. a read-only view onto the store that costs microseconds whatever the size.
    The array holds real data (not zero pages) so copies cost what they really cost, and the
    row checks that ``put`` stored a snapshot (writing to the array afterwards changes nothing).
    """
    import numpy as np  # imported here: a backend's venv may lack numpy (other rows run)

    array = np.arange(scale.large_bytes // 8, dtype=np.float64)
    mib = array.nbytes / 2**20

    # Warm-up: one full round trip, including any first-use mapping of the store.
    warm = backend.get(backend.put(array))
    assert warm.nbytes == array.nbytes
    del warm

    refs = []
    put_times = []
    for _ in range(scale.large_ops):
        start = time.perf_counter()
        refs.append(backend.put(array))
        put_times.append(time.perf_counter() - start)

    get_times = []
    for ref in refs:
        start = time.perf_counter()
        value = backend.get(ref)
        get_times.append(time.perf_counter() - start)
        if value.shape != array.shape or value[-1] != array[-1]:
            raise AssertionError("large get returned the wrong array")
        del value

    # put must have stored a snapshot (Ray semantics), not a view of the caller's array:
    # otherwise the put figure would not include the copy every backend has to make.
    array[-1] += 1.0
    if backend.get(refs[0])[-1] == array[-1]:
        raise AssertionError("put() stored a view of the array, not a copy: later writes leak in")

    put_ms = [t * 1e3 for t in put_times]
    get_ms = [t * 1e3 for t in get_times]
    unit = f"ms/op ({mib:.0f} MiB)"
    return {
        "put_large_ms": Metric(statistics.median(put_ms), unit, "lower", put_ms),
        "get_large_ms": Metric(statistics.median(get_ms), unit, "lower", get_ms),
        "put_large_GiBps": Metric(
            array.nbytes / 2**30 / statistics.median(put_times), "GiB/s", "higher"
        ),
    }
