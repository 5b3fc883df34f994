"""The object store: one large array shared by many tasks, read in place, freed when done.

    python examples/object_store.py [--size 5000]

Puts a size x size float64 array once, hands its ref to ten tasks (each maps the same shared
memory: nothing is copied), shows the store's contents, and watches them go once the ref is
dropped (their memory is kept for the next put, unless somebody still reads it). Then it runs
with a tiny store to show spilling to disk.
"""

import argparse
import gc
import time

import numpy as np

import actorium
from actorium.util import memory_summary


@actorium.remote
def column_mean(matrix: np.ndarray, column: int) -> float:
    """Reads its argument in place: ``matrix`` is a read-only view of shared memory."""
    assert not matrix.flags.writeable
    return float(matrix[:, column].mean())


def wait_for_empty_store(timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while memory_summary().objects and time.monotonic() < deadline:
        gc.collect()
        time.sleep(0.05)


def share_one_array(size: int) -> None:
    matrix = np.random.default_rng(0).random((size, size))
    ref = actorium.put(matrix)                      # one copy, into shared memory
    started = time.perf_counter()
    view = actorium.get(ref)                        # no copy: a read-only view
    print(f"get of a {matrix.nbytes / 2**20:.0f} MiB array: "
          f"{(time.perf_counter() - started) * 1e3:.2f} ms, writable: {view.flags.writeable}")
    means = actorium.get([column_mean.remote(ref, column) for column in range(10)])
    print(f"ten tasks read the same copy: means match: "
          f"{np.allclose(means, matrix[:, :10].mean(axis=0))}")
    summary = memory_summary()
    print(f"objects in the store: {len(summary.objects)}, "
          f"bytes in use: {summary.used / 2**20:.1f} MiB")
    del ref, view
    wait_for_empty_store()
    print(f"after dropping the ref: {len(memory_summary().objects)} objects, "
          f"{memory_summary().used} bytes in use, "
          f"{memory_summary().pooled / 2**20:.1f} MiB kept for reuse")
    # Reuse never touches memory that is still read: this view outlives its ref.
    kept = actorium.get(actorium.put(matrix))
    gc.collect()
    for _ in range(3):
        actorium.put(np.zeros_like(matrix))       # same size: takes freed memory
    print(f"a view kept after its ref was dropped still reads its own bytes: "
          f"{np.array_equal(kept, matrix)}")


def spill_with_a_tiny_store() -> None:
    actorium.init(num_cpus=1, object_store_memory=3 * 2**20)
    refs = [actorium.put(np.full(2**17, float(i))) for i in range(6)]   # 1 MiB each
    places = sorted(info.where for info in memory_summary().objects)
    print(f"six 1 MiB objects in a 3 MiB store: {places.count('memory')} in memory, "
          f"{places.count('spilled')} spilled")
    print(f"all restored on get: {[float(actorium.get(ref)[0]) for ref in refs]}")
    keep: list[object] = []
    try:
        keep = [actorium.get(ref) for ref in refs[-2:]]   # views in use cannot be spilled
        actorium.put(np.zeros(2**19))                      # 4 MiB: larger than the store
    except actorium.exceptions.OutOfMemoryError as error:
        print(f"OutOfMemoryError: {str(error)[:60]}...")
    del keep, refs
    actorium.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=str(__doc__).splitlines()[0])
    parser.add_argument("--size", type=int, default=5000)
    options = parser.parse_args()
    actorium.init(num_cpus=2)
    share_one_array(options.size)
    actorium.shutdown()
    spill_with_a_tiny_store()


if __name__ == "__main__":
    main()
