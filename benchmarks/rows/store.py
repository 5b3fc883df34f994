"""Object store rows: put/get throughput by size, and one large array shared by ten tasks."""

from __future__ import annotations

import statistics
import time
from types import ModuleType
from typing import TYPE_CHECKING

from benchmarks.metrics import Metric, Metrics, measure_rate, rate, size_label
from benchmarks.scale import Scale

if TYPE_CHECKING:
    import numpy as np


def put_get_by_size(backend: ModuleType, scale: Scale) -> Metrics:
    """``put`` and ``get`` rates of numpy arrays from 1 KiB to 1 GiB (``scale.store_sizes``).

    ``put`` copies the array into the store once (the ref is dropped right away, so freeing
    is part of the cost); reported as puts/s and GiB/s. ``get`` reads one stored array again
    and again: a zero-copy store answers in microseconds whatever the size.
    """
    import numpy as np  # imported here: a backend's venv may lack numpy (other rows run)

    metrics: Metrics = {}
    for size in scale.store_sizes:
        array = np.arange(size, dtype=np.uint8)   # real data, not zero pages
        label = size_label(size)
        per_unit = max(1, min(scale.sync_chunk, (64 * 2**20) // size))

        def put_work(array: np.ndarray = array, per_unit: int = per_unit) -> int:
            for _ in range(per_unit):
                backend.put(array)
            return per_unit

        puts = measure_rate(put_work, warmup=scale.warmup, min_time=scale.min_time,
                            trials=scale.trials)
        ref = backend.put(array)
        if backend.get(ref).nbytes != size:
            raise AssertionError(f"get of a {label} array returned the wrong size")

        def get_work(ref: object = ref) -> int:
            for _ in range(scale.sync_chunk):
                backend.get(ref)
            return scale.sync_chunk

        gets = measure_rate(get_work, warmup=scale.warmup, min_time=scale.min_time,
                            trials=scale.trials)
        del ref
        metrics[f"put_{label}"] = rate(puts, "puts/s")
        metrics[f"put_{label}_GiBps"] = Metric(statistics.median(puts) * size / 2**30,
                                               "GiB/s", "higher")
        metrics[f"get_{label}"] = rate(gets, "gets/s")
    return metrics


def array_to_ten_tasks(backend: ModuleType, scale: Scale) -> Metrics:
    """Seconds to pass one float64 array (5000x5000 = 191 MiB at full scale) to 10 no-op
    tasks: given directly to every ``.remote()`` call, versus ``put`` once and pass the ref.

    Passed directly, each call stores its own copy; through one ref, the ten tasks read the
    same copy in place. Median of ``scale.large_ops`` rounds, each waiting for all ten.
    """
    import numpy as np  # imported here: a backend's venv may lack numpy (other rows run)

    side = scale.seed_array_side
    array = np.random.default_rng(0).random((side, side))

    @backend.remote
    def no_op(matrix: np.ndarray) -> int:
        return int(matrix.shape[0])

    def direct() -> None:
        assert backend.get([no_op.remote(array) for _ in range(10)]) == [side] * 10

    def by_ref() -> None:
        ref = backend.put(array)
        assert backend.get([no_op.remote(ref) for _ in range(10)]) == [side] * 10

    direct()  # warm-up: workers started, store mapped
    by_ref()
    times: dict[str, list[float]] = {"direct": [], "put_once": []}
    for _ in range(max(scale.large_ops, 1)):
        for name, round_ in (("direct", direct), ("put_once", by_ref)):
            start = time.perf_counter()
            round_()
            times[name].append(time.perf_counter() - start)
    unit = f"s/10 tasks ({array.nbytes / 2**20:.0f} MiB)"
    return {
        "direct_args_s": Metric(statistics.median(times["direct"]), unit, "lower",
                                times["direct"]),
        "put_once_s": Metric(statistics.median(times["put_once"]), unit, "lower",
                             times["put_once"]),
    }
