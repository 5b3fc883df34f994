"""Benchmarks of virtual actors (actorium only: Ray has no virtual actors).

    python -m benchmarks.virtual_actors [--scale full|smoke] [--postgres URL|auto|none]
                                        [--json FILE]

Rows, each in a fresh runtime on a fresh store:

* ``reactivation_sqlite`` / ``reactivation_postgres`` — latency of the first call to a
  *passivated* actor (its saved state is loaded by a new activation), one call at a time:
  p50 and p99. With ``--postgres auto`` a PostgreSQL server of its own is started.
* ``active_100k`` — activate 100,000 keys on one node (in batches of concurrent first calls):
  activations per second, and memory (PSS of every process) per active actor.
* ``known_1m`` — 1,000,000 keys with saved state in the store, only a few thousand active:
  memory per passivated key (RAM, should be ~0: they are only rows) and disk bytes per key.
* ``calls_vs_plain`` — calls per second to 1,000 active virtual actors against 1,000 plain
  async actors, the same calls from the same asyncio driver in the same run (and the ratio).

Figures are for the machine they ran on: compare rows of one run, not runs of two days.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import actorium
from benchmarks import store_driver
from benchmarks.procmem import snapshot
from benchmarks.store_driver import StoreUrls

SCALES = {
    "full": {"latency_keys": 500, "active": 100_000, "known": 1_000_000, "known_active": 5_000,
             "call_keys": 1_000, "call_seconds": 3.0, "batch": 2_000},
    "smoke": {"latency_keys": 20, "active": 500, "known": 5_000, "known_active": 100,
              "call_keys": 50, "call_seconds": 0.3, "batch": 200},
}


@actorium.virtual(type_name="BenchDevice", idle_timeout=3600)
class Device(actorium.VirtualActor):
    async def touch(self, value: int = 0) -> int:
        self.state["last"] = value
        return value

    async def passivate(self) -> None:
        self.deactivate()


@actorium.remote
class PlainDevice:
    async def touch(self, value: int = 0) -> int:
        self.last = value
        return value


@contextmanager
def runtime(store_url: str) -> Iterator[None]:
    os.environ["ACTORIUM_STATE_STORE"] = store_url
    actorium.init(num_cpus=os.cpu_count() or 2, include_dashboard=False, log_to_driver=False)
    try:
        yield
    finally:
        actorium.shutdown()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def in_batches(keys: list[str], batch: int, call: Callable[[str], Any]) -> None:
    for start in range(0, len(keys), batch):
        await asyncio.gather(*(call(k) for k in keys[start:start + batch]))


async def wait_passivated(count: int, within: float = 600.0) -> None:
    deadline = time.monotonic() + within
    summarize = actorium.util.state.summarize_virtual_actors
    while True:
        summary = await asyncio.to_thread(summarize)
        active = sum(t["active"] for t in summary["types"])
        if active == 0 and summary["passivations_total"] >= count:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{active} activations still active after {within} s")
        await asyncio.sleep(0.2)


# ---------------------------------------------------------------------- rows
def reactivation(store_url: str, scale: dict[str, Any]) -> dict[str, Any]:
    """p50/p99 of the first call to a passivated actor (load saved state, activate, call)."""
    keys = [f"lat-{i}" for i in range(scale["latency_keys"])]
    with runtime(store_url):
        async def main() -> dict[str, Any]:
            await in_batches(keys, scale["batch"], lambda k: Device.get(k).touch.remote(1))
            await in_batches(keys, scale["batch"], lambda k: Device.get(k).passivate.remote())
            await wait_passivated(len(keys))
            samples = []
            for key in keys:
                started = time.perf_counter()
                await Device.get(key).touch.remote(2)
                samples.append(time.perf_counter() - started)
            warm = []
            for key in keys[:200]:
                started = time.perf_counter()
                await Device.get(key).touch.remote(3)
                warm.append(time.perf_counter() - started)
            return {"p50_ms": 1e3 * percentile(samples, 0.5),
                    "p99_ms": 1e3 * percentile(samples, 0.99),
                    "active_call_p50_ms": 1e3 * percentile(warm, 0.5), "keys": len(keys)}
        return asyncio.run(main())


def active_many(store_url: str, scale: dict[str, Any]) -> dict[str, Any]:
    """Activate many keys on one node: activations/s and memory per active actor."""
    count = scale["active"]
    keys = [f"act-{i}" for i in range(count)]
    with runtime(store_url):
        async def main() -> dict[str, Any]:
            await Device.get("warm").touch.remote()
            await asyncio.sleep(1.0)
            before = snapshot()
            started = time.perf_counter()
            await in_batches(keys, scale["batch"], lambda k: Device.get(k).touch.remote(1))
            elapsed = time.perf_counter() - started
            await asyncio.sleep(1.0)
            after = snapshot()
            summary = await asyncio.to_thread(actorium.util.state.summarize_virtual_actors)
            active = sum(t["active"] for t in summary["types"])
            return {"activations_per_s": count / elapsed, "active": active,
                    "bytes_per_active": (after.total - before.total) / count,
                    # The node and its workers (what activations cost), and the caller
                    # (its cached location and call numbering of every key it called).
                    "runtime_bytes_per_active": (after.children - before.children) / count,
                    "caller_bytes_per_key": (after.driver - before.driver) / count,
                    "memory_kind": after.kind, "total_mib": after.total / 2**20}
        return asyncio.run(main())


def known_many(store_url: str, scale: dict[str, Any]) -> dict[str, Any]:
    """Many keys known to the store, few active: RAM per passivated key, disk per key."""
    import cloudpickle

    from actorium._virtual.stores import _make

    async def idle_memory() -> int:
        await Device.get("warm").touch.remote()
        await asyncio.sleep(1.0)
        return snapshot().total

    empty_url = store_url + ".empty"
    with runtime(empty_url):
        empty = asyncio.run(idle_memory())
    count = scale["known"]
    store: Any = _make(store_url)
    blob = cloudpickle.dumps({"last": 1, "readings": [20.5, 21.0, 21.5]})
    store.seed("BenchDevice", ((f"known-{i}", blob) for i in range(count)))
    asyncio.run(store.close())
    path = store_url.removeprefix("sqlite:///")
    disk = sum(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p))
    with runtime(store_url):
        async def main() -> dict[str, Any]:
            idle = await idle_memory()
            step = max(count // scale["known_active"], 1)
            sample = [f"known-{i}" for i in range(0, count, step)]
            await in_batches(sample, scale["batch"], lambda k: Device.get(k).touch.remote(2))
            await asyncio.sleep(1.0)
            busy = snapshot()
            summary = await asyncio.to_thread(actorium.util.state.summarize_virtual_actors)
            row = next(t for t in summary["types"] if t["type_name"] == "BenchDevice")
            return {"keys": count, "active": row["active"], "passivated": row["passivated"],
                    "runtime_mib_empty_store": empty / 2**20,
                    "runtime_mib_all_passivated": idle / 2**20,
                    "ram_bytes_per_passivated": (idle - empty) / count,
                    "bytes_per_active": (busy.total - idle) / len(sample),
                    "disk_bytes_per_key": disk / count, "memory_kind": busy.kind}
        return asyncio.run(main())


def calls_vs_plain(store_url: str, scale: dict[str, Any]) -> dict[str, Any]:
    """Calls/s to active virtual actors and to plain actors, same pattern, same run."""
    n, seconds, batch = scale["call_keys"], scale["call_seconds"], scale["batch"]
    with runtime(store_url):
        async def rate(handles: list[Any]) -> float:
            await asyncio.gather(*(h.touch.remote() for h in handles))   # activated / placed
            done, started = 0, time.perf_counter()
            while time.perf_counter() - started < seconds:
                calls = [handles[i % n].touch.remote(i) for i in range(batch)]
                await asyncio.gather(*calls)
                done += batch
            return done / (time.perf_counter() - started)

        async def main() -> dict[str, Any]:
            virtual = [Device.get(f"call-{i}") for i in range(n)]
            plain = [PlainDevice.remote() for _ in range(n)]
            virtual_rate = await rate(virtual)
            plain_rate = await rate(plain)
            virtual_rate = max(virtual_rate, await rate(virtual))   # best of two, each side
            plain_rate = max(plain_rate, await rate(plain))
            return {"virtual_calls_per_s": virtual_rate, "plain_calls_per_s": plain_rate,
                    "virtual_over_plain": virtual_rate / plain_rate, "actors": n}
        return asyncio.run(main())


# ---------------------------------------------------------------------- driver
def main(argv: list[str] | None = None) -> int:
    def rows(urls: StoreUrls, scale: dict[str, Any]) -> dict[str, Callable[[], dict[str, Any]]]:
        return {
            "reactivation_sqlite": lambda: reactivation(urls.sqlite(), scale),
            "reactivation_postgres": lambda: reactivation(urls.postgres(), scale),
            "active_100k": lambda: active_many(urls.sqlite(), scale),
            "known_1m": lambda: known_many(urls.sqlite(), scale),
            "calls_vs_plain": lambda: calls_vs_plain(urls.sqlite(), scale),
        }
    return store_driver.run(argv, description=__doc__.splitlines()[0],
                            title="virtual actor benchmarks", tag="virtual", scales=SCALES,
                            rows=rows)


if __name__ == "__main__":
    raise SystemExit(main())
