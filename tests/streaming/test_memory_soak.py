"""An endless actor generator read item by item stays in bounded memory (back-pressure).

``make test`` runs the short version (20,000 items); ``make soak-streaming`` sets
``SOAK_STREAM_ITEMS=1000000`` (any count works) and prints the figures. The producer may
never be more than the back-pressure limit ahead of the reader, and the resident memory of
the reading driver and of the actor's process may not grow with the number of items: the
growth from a sample taken once the stream is warm to the largest later sample stays under a
bound that a per-item leak of ~100 bytes would cross at a million items (the short version
uses a looser bound; its per-item check is the back-pressure one).
"""

from __future__ import annotations

import gc
import os

import psutil
import pytest

import actorium as ray

ITEMS = int(os.environ.get("SOAK_STREAM_ITEMS", "20000"))
LIMIT = 64
SAMPLES = 20
# Allowed RSS growth (MiB) past the warm sample: per-item state kept by mistake (refs,
# entries, stream bookkeeping: hundreds of bytes each) grows far past it over a long stream.
BOUND_MIB = 16.0 if ITEMS >= 200_000 else 24.0

pytestmark = [pytest.mark.multiprocess, pytest.mark.slow,
              pytest.mark.timeout(max(180, ITEMS // 1000))]


@ray.remote(max_concurrency=2)
class Sensor:
    """An endless feed: a reading per ``next()``, as fast as the reader lets it."""

    def __init__(self) -> None:
        self.made = 0

    def readings(self):
        while True:
            self.made += 1
            yield self.made

    def made_so_far(self) -> int:
        return self.made

    def pid(self) -> int:
        return os.getpid()


def _rss_mib(process: psutil.Process) -> float:
    return float(process.memory_info().rss) / 2**20


def test_a_long_endless_stream_keeps_driver_and_worker_memory_flat(runtime):
    sensor = Sensor.remote()
    driver, worker = psutil.Process(), psutil.Process(ray.get(sensor.pid.remote()))
    gen = sensor.readings.options(_generator_backpressure_num_objects=LIMIT).remote()
    every = ITEMS // SAMPLES
    samples: list[tuple[int, float, float]] = []
    ahead = 0
    for index, ref in enumerate(gen, start=1):
        assert ray.get(ref) == index
        if index % every == 0:
            del ref
            gc.collect()
            samples.append((index, _rss_mib(driver), _rss_mib(worker)))
            ahead = max(ahead, ray.get(sensor.made_so_far.remote()) - index)
        if index == ITEMS:
            break
    ray.cancel(gen)
    del gen
    ray.kill(sensor)

    warm = samples[1]   # after the first twentieth: imports, caches and pools are settled
    driver_growth = max(s[1] for s in samples[2:]) - warm[1]
    worker_growth = max(s[2] for s in samples[2:]) - warm[2]
    print(f"\nstreamed {ITEMS} items, back-pressure {LIMIT}: driver RSS {warm[1]:.1f} MiB at "
          f"item {warm[0]}, +{driver_growth:.1f} MiB after; worker RSS {warm[2]:.1f} MiB, "
          f"+{worker_growth:.1f} MiB; producer at most {ahead} items ahead")
    assert ahead <= LIMIT + 1
    assert driver_growth < BOUND_MIB, samples
    assert worker_growth < BOUND_MIB, samples
