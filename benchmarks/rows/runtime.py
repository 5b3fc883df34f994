"""Runtime rows: init/shutdown cost and idle memory, actor creation rate, idle actors.

Memory figures are the driver plus all of its descendant processes (see
:mod:`benchmarks.procmem`); the unit says whether they are PSS or RSS.
"""

from __future__ import annotations

import time
from types import ModuleType
from typing import Any

from benchmarks import backends, procmem
from benchmarks.metrics import Metric, Metrics
from benchmarks.procmem import KIB, MIB
from benchmarks.scale import Scale


class TinyActor:
    """The smallest useful actor: no state, one method."""

    def ping(self) -> int:
        return 0


def init_shutdown(backend: ModuleType, scale: Scale) -> Metrics:
    """Wall time of ``init()`` on a fresh runtime and of ``shutdown()``, plus idle memory.

    Runs in a fresh subprocess where the backend is already imported (so the import is not
    timed) but nothing was started. Memory is read after a short settle: the runtime
    processes started by init (descendants of the driver), and how much the driver
    process itself grew during init; their sum is the headline figure.
    """
    name = backends.name_of(backend)
    before = procmem.snapshot()

    start = time.perf_counter()
    backend.init(**backends.init_kwargs(name))
    init_s = time.perf_counter() - start

    time.sleep(scale.settle)
    idle = procmem.snapshot()

    start = time.perf_counter()
    backend.shutdown()
    shutdown_s = time.perf_counter() - start

    kind = idle.kind
    return {
        "init_s": Metric(init_s, "s", "lower"),
        "shutdown_s": Metric(shutdown_s, "s", "lower"),
        # Everything init added: the driver's growth plus every process it started.
        "idle_mem_total_MiB": Metric((idle.total - before.total) / MIB, f"MiB {kind}", "lower"),
        # Informative split. The driver's PSS can even shrink, as new processes share its pages.
        "idle_mem_runtime_procs_MiB": Metric(idle.children / MIB, f"MiB {kind}", None),
        "idle_mem_driver_delta_MiB": Metric(
            (idle.driver - before.driver) / MIB, f"MiB {kind}", None
        ),
        "runtime_processes": Metric(idle.processes, "processes", None),
    }


def actor_creation(backend: ModuleType, scale: Scale) -> Metrics:
    """Actors created per second: create N tiny actors, then wait for a first call on each.

    Counts everything it takes for a new actor to be usable (for Ray, a worker process per
    actor, so N is capped there). One actor is created and called first as a warm-up.
    """
    count = backends.actor_cap(backend, scale.create_actors, scale.create_actors_process_cap)
    cls = backend.remote(TinyActor)
    backend.get(cls.remote().ping.remote())  # warm-up

    start = time.perf_counter()
    handles = [cls.remote() for _ in range(count)]
    backend.get([h.ping.remote() for h in handles])
    elapsed = time.perf_counter() - start

    for handle in handles:
        backend.kill(handle)
    return {
        "actors_per_s": Metric(count / elapsed, "actors/s", "higher"),
        "actors_created": Metric(count, "actors", None),
    }


def idle_actors(backend: ModuleType, scale: Scale) -> Metrics:
    """How many tiny idle actors fit, and the memory each one costs.

    Creates actors in batches (each batch answers a first call before the next starts)
    until the target (100,000 at full scale; far fewer where each actor is a process) or
    the time cap is reached, then reports the count actually reached and the growth of
    driver + runtime-process memory divided by that count.
    """
    target = backends.actor_cap(backend, scale.idle_actors, scale.idle_actors_process_cap)
    batch = max(1, min(1000, target // 20))
    cls = backend.remote(TinyActor)

    time.sleep(scale.settle)
    base = procmem.snapshot()

    handles: list[Any] = []
    start = time.perf_counter()
    while len(handles) < target and time.perf_counter() - start < scale.idle_time_cap:
        new = [cls.remote() for _ in range(min(batch, target - len(handles)))]
        backend.get([h.ping.remote() for h in new])
        handles.extend(new)
    create_s = time.perf_counter() - start

    time.sleep(scale.settle)
    after = procmem.snapshot()
    grown = max(0, after.total - base.total)
    reached = len(handles)
    return {
        "idle_actors": Metric(reached, "actors", "higher"),
        "mem_per_actor_KiB": Metric(grown / reached / KIB, f"KiB {after.kind}", "lower"),
        "mem_increase_MiB": Metric(grown / MIB, f"MiB {after.kind}", None),
        "create_s": Metric(create_s, "s", None),
    }
