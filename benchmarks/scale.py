"""How big each row is: counts, durations and limits, for the ``full`` and ``smoke`` scales.

``full`` gives stable figures (a few seconds of measurement per row); ``smoke`` runs
every row once with tiny counts so a test can prove the suite still works.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Scale:
    """Counts for every row. All durations are in seconds."""

    name: str
    # Throughput rows: each trial runs for min_time seconds after warmup seconds.
    warmup: float
    min_time: float
    trials: int
    # Calls issued in one loop iteration of a sync row, and in one async batch.
    sync_chunk: int
    batch: int
    # n for the n:n and 1:n rows (callers and callees).
    n: int
    # Round-trip latency: calls sampled after latency_warmup discarded ones.
    latency_samples: int
    latency_warmup: int
    # Large objects: size in bytes and how many puts/gets are timed.
    large_bytes: int
    large_ops: int
    # Object store: array sizes for put/get rates, and the side of the seed example's array.
    store_sizes: tuple[int, ...]
    seed_array_side: int
    # Large bytes passed by value to and returned from an actor method: their sizes.
    bytes_sizes: tuple[int, ...]
    # The 1:N fan-out row: actors called once each per round (capped where each is a process).
    fan_out: int
    fan_out_process_cap: int
    # Actor creation rate: actors created, capped when each actor is a process.
    create_actors: int
    create_actors_process_cap: int
    # Idle actors: target count, cap when each actor is a process, and a time cap.
    idle_actors: int
    idle_actors_process_cap: int
    idle_time_cap: float
    # Pause before reading memory so lazily started processes and threads settle.
    settle: float
    # Wall-time limit for one row's subprocess (init, row, shutdown).
    row_timeout: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


FULL = Scale(
    name="full",
    warmup=0.3,
    min_time=1.0,
    trials=5,
    sync_chunk=100,
    batch=1000,
    n=2,
    latency_samples=5000,
    latency_warmup=500,
    large_bytes=100 * 2**20,
    large_ops=10,
    store_sizes=(2**10, 64 * 2**10, 2**20, 16 * 2**20, 256 * 2**20, 2**30),
    seed_array_side=5000,
    bytes_sizes=(2**20, 16 * 2**20, 256 * 2**20, 2**30),
    fan_out=16,
    fan_out_process_cap=16,
    create_actors=1000,
    create_actors_process_cap=20,
    idle_actors=100_000,
    idle_actors_process_cap=50,
    idle_time_cap=120.0,
    settle=2.0,
    row_timeout=300.0,
)

SMOKE = Scale(
    name="smoke",
    warmup=0.01,
    min_time=0.05,
    trials=1,
    sync_chunk=10,
    batch=20,
    n=2,
    latency_samples=50,
    latency_warmup=10,
    large_bytes=4 * 2**20,
    large_ops=2,
    store_sizes=(2**10, 2**20),
    seed_array_side=300,
    bytes_sizes=(2**20,),
    fan_out=4,
    fan_out_process_cap=4,
    create_actors=10,
    create_actors_process_cap=3,
    idle_actors=1000,
    idle_actors_process_cap=3,
    idle_time_cap=10.0,
    settle=0.1,
    row_timeout=60.0,
)

SCALES: dict[str, Scale] = {s.name: s for s in (FULL, SMOKE)}
