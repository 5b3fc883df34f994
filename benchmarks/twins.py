"""Benchmarks of digital twins (actorium only: Ray has no twins).

    python -m benchmarks.twins [--scale full|smoke] [--postgres URL|auto|none]
                               [--rows a,b] [--json FILE]

Rows, each in a fresh runtime on a fresh store, on this machine's cores:

* ``mqtt_reports`` — reports from devices over a real mosquitto (a private one, with a
  login) through ``MqttBridge`` into twins, end to end: published by the device to stored
  by its twin (the twin's commit time minus the time the device put in the report). A burst
  gives the rate; then a paced run at about half of it gives the p50/p99 latency a fleet
  sees when the node is not saturated.
* ``fleet_query_sqlite`` / ``fleet_query_postgres`` — 100,000 twins in the index: a range
  count, a page of 100 of a range query ordered by a field, an equality count; the first
  query of a field (sqlite creates its index then) and then the p50 of repeats.
* ``watch_fanout`` — many watches in one process following one twin: deliveries per second
  and the latency from a change's commit to its delivery in every watch (p50/p99).
* ``twin_memory`` — many active twins, each fed one report: memory (PSS of every process)
  per active twin, and disk per twin in the sqlite store (state, index row, history).
* ``reads_writes`` — calls to active twins from one asyncio driver: ``document()`` reads
  per second, then ``report()`` writes per second (each a stored change: state, index
  row and history entry in one transaction).

Figures are for the machine they ran on: compare rows of one run, not runs of two days.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import actorium
from actorium import twins
from actorium.twins import Field
from benchmarks import store_driver
from benchmarks.procmem import snapshot
from benchmarks.store_driver import StoreUrls
from benchmarks.virtual_actors import percentile

SCALES = {
    "full": {"devices": 500, "burst_reports": 20_000, "paced_seconds": 5.0,
             "fleet": 100_000, "query_repeats": 20, "watchers": 200, "watch_changes": 200,
             "memory_twins": 10_000, "batch": 1_000},
    "smoke": {"devices": 20, "burst_reports": 200, "paced_seconds": 0.5,
              "fleet": 2_000, "query_repeats": 3, "watchers": 10, "watch_changes": 10,
              "memory_twins": 200, "batch": 100},
}


@twins.twin(type_name="BenchSensor", history=1_000_000, idle_timeout=3600)
class Sensor(twins.Twin):
    pass


@twins.twin(type_name="BenchMeter", history=10, idle_timeout=3600)
class Meter(twins.Twin):
    pass


@contextlib.contextmanager
def runtime(store_url: str) -> Iterator[None]:
    os.environ["ACTORIUM_STATE_STORE"] = store_url
    actorium.init(num_cpus=os.cpu_count() or 2, include_dashboard=False, log_to_driver=False)
    try:
        yield
    finally:
        actorium.shutdown()


async def until(check: Callable[[], bool], within: float = 600.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("the benchmark did not finish in time")
        await asyncio.sleep(0.01)


# ---------------------------------------------------------------------- rows
def devices(port: int, username: str, password: str, keys: list[str], first: int,
            count: int, pace: float | None) -> None:
    """The devices (in a process of their own, as they would be): publish reports number
    ``first`` .. ``first + count - 1`` round the keys (the number is each report's ``seq``),
    at ``pace`` reports/s (None: as fast as the broker acknowledges, 100 in flight)."""
    import aiomqtt

    async def main() -> None:
        async with aiomqtt.Client("127.0.0.1", port, username=username, password=password,
                                  identifier=f"bench-devices-{first}",
                                  max_inflight_messages=200) as client:
            client.pending_calls_threshold = 1_000   # many publishes at once, on purpose

            def report(n: int) -> Any:
                return client.publish(f"devices/{keys[n % len(keys)]}/reported", json.dumps(
                    {"state": {"n": n, "sent": time.time()}, "seq": n}), qos=1)
            if pace is None:   # a burst: blocks of 100 at once
                for block in range(first, first + count, 100):
                    await asyncio.gather(*(report(n) for n in
                                           range(block, min(block + 100, first + count))))
                return
            started = time.perf_counter()
            sending = []
            for i, n in enumerate(range(first, first + count)):   # one at a time, on time
                wait = started + i / pace - time.perf_counter()
                if wait > 0:
                    await asyncio.sleep(wait)
                sending.append(asyncio.ensure_future(report(n)))
            await asyncio.gather(*sending)
    asyncio.run(main())


def mqtt_reports(store_url: str, scale: dict[str, Any]) -> dict[str, Any]:
    """Reports over MQTT into twins, end to end: reports/s (burst), p50/p99 (paced)."""
    import multiprocessing
    keys = [f"dev-{i:05d}" for i in range(scale["devices"])]
    spawn = multiprocessing.get_context("spawn")
    with twins.LocalMosquitto() as broker, runtime(store_url):
        async def publish(first: int, count: int, pace: float | None = None) -> None:
            process = spawn.Process(target=devices, args=(
                broker.port, broker.username, broker.password, keys, first, count, pace))
            process.start()
            await asyncio.to_thread(process.join)
            if process.exitcode != 0:
                raise RuntimeError(f"the devices' process failed ({process.exitcode})")

        async def main() -> dict[str, Any]:
            bridge = twins.MqttBridge(Sensor, broker.broker, publish_desired=False,
                                      concurrency=1000)
            async with bridge:
                await publish(1, len(keys))                  # warm: every twin activated
                sent = len(keys)
                await until(lambda: bridge.stats.applied >= sent)
                burst = scale["burst_reports"]
                await publish(sent + 1, burst)
                burst_numbers = range(sent + 1, sent + 1 + burst)
                sent += burst
                await until(lambda: bridge.stats.applied >= sent)
                # The burst, from the first report sent to the last one stored (the start of
                # the devices' process is not counted).
                changes = [change for key in keys
                           for change in await Sensor.get(key).history.remote()]
                burst_changes = [c for c in changes if c.patch.get("n") in burst_numbers]
                rate = burst / (max(c.at for c in burst_changes)
                                - min(c.patch["sent"] for c in burst_changes))
                # Paced at half the burst rate: the latency when the node keeps up.
                pace = max(rate / 2, 1.0)
                paced = max(int(pace * scale["paced_seconds"]), 100)
                await publish(sent + 1, paced, pace)
                paced_numbers = range(sent + 1, sent + 1 + paced)
                sent += paced
                await until(lambda: bridge.stats.applied >= sent)
                samples = [change.at - change.patch["sent"] for key in keys
                           for change in await Sensor.get(key).history.remote()
                           if change.patch.get("n") in paced_numbers]
                return {"reports_per_s": rate, "burst_reports": burst, "paced_per_s": pace,
                        "paced_reports": paced, "p50_ms": 1e3 * percentile(samples, 0.5),
                        "p99_ms": 1e3 * percentile(samples, 0.99),
                        "devices": len(keys), "rejected": bridge.stats.rejected}
        return asyncio.run(main())


def fleet_query(store_url: str, scale: dict[str, Any]) -> dict[str, Any]:
    """A fleet of twins in the index: range count, ordered page, equality count."""
    from actorium._twins.stores import shared_store, twin_store
    count = scale["fleet"]
    sites = [f"site-{n}" for n in range(50)]

    def document(i: int) -> dict[str, Any]:
        reported = {"temp": round(10 + (i * 7919 % 3000) / 100, 2), "fw": f"1.{i % 7}"}
        return {"desired": {}, "reported": reported, "delta": {},
                "links": {"site": sites[i % len(sites)]}, "version": 1,
                "desired_version": 0, "reported_version": 1, "links_version": 0}

    async def main() -> dict[str, Any]:
        async with shared_store(store_url) as store:
            tables = twin_store(store)
            for start in range(0, count, 10_000):
                await tables.seed("BenchMeter", [(f"m-{i:06d}", document(i)) for i in
                                                 range(start, min(start + 10_000, count))])
        os.environ["ACTORIUM_STATE_STORE"] = store_url
        hot = Field("reported.temp") > 38.5
        queries = {
            "range_count": lambda: twins.count_async(Meter, hot),
            "ordered_page": lambda: twins.query_async(Meter, hot, order_by="-reported.temp",
                                                      limit=100),
            "equality_count": lambda: twins.count_async(Meter,
                                                        Field("links.site") == "site-7"),
        }
        out: dict[str, Any] = {"twins": count}
        async with contextlib.AsyncExitStack() as held:
            # An application that queries keeps the shared store open meanwhile.
            await held.enter_async_context(shared_store(store_url))
            await run_queries(queries, out)
        return out

    async def run_queries(queries: dict[str, Callable[[], Any]], out: dict[str, Any]) -> None:
        for name, run in queries.items():
            started = time.perf_counter()
            found = await run()
            out[f"{name}_first_ms"] = 1e3 * (time.perf_counter() - started)
            samples = []
            for _ in range(scale["query_repeats"]):
                started = time.perf_counter()
                await run()
                samples.append(time.perf_counter() - started)
            out[f"{name}_p50_ms"] = 1e3 * percentile(samples, 0.5)
            out[f"{name}_matches"] = found if isinstance(found, int) else len(found)
    return asyncio.run(main())


def watch_fanout(store_url: str, scale: dict[str, Any]) -> dict[str, Any]:
    """Many watches of one twin in one process: deliveries/s and commit-to-delivery."""
    watchers, changes = scale["watchers"], scale["watch_changes"]
    with runtime(store_url):
        async def main() -> dict[str, Any]:
            meter = Meter.get("fan")
            await meter.report.remote({"n": 0})
            latencies: list[float] = []
            ready = 0

            async def follow() -> None:
                nonlocal ready
                async with contextlib.aclosing(twins.watch(Meter, "fan")) as stream:
                    ready += 1
                    async for change in stream:
                        latencies.append(time.time() - change.at)
                        if change.document["reported"]["n"] == changes:
                            return
            tasks = [asyncio.create_task(follow()) for _ in range(watchers)]
            await until(lambda: ready == watchers)
            await asyncio.sleep(0.5)
            started = time.perf_counter()
            for n in range(1, changes + 1):
                await meter.report.remote({"n": n})
            await asyncio.wait_for(asyncio.gather(*tasks), 600)
            elapsed = time.perf_counter() - started
            return {"watchers": watchers, "changes": changes,
                    "deliveries_per_s": len(latencies) / elapsed,
                    "p50_ms": 1e3 * percentile(latencies, 0.5),
                    "p99_ms": 1e3 * percentile(latencies, 0.99)}
        return asyncio.run(main())


def twin_memory(store_url: str, scale: dict[str, Any]) -> dict[str, Any]:
    """Many active twins, one report each: memory per active twin, disk per twin."""
    count, batch = scale["memory_twins"], scale["batch"]
    keys = [f"mem-{i:06d}" for i in range(count)]
    with runtime(store_url):
        async def main() -> dict[str, Any]:
            await Meter.get("warm").report.remote({"temp": 1})
            await asyncio.sleep(1.0)
            before = snapshot()
            started = time.perf_counter()
            for start in range(0, count, batch):
                await asyncio.gather(*(Meter.get(k).report.remote(
                    {"temp": 20.5, "humidity": 55, "fw": "1.4.2", "battery": 0.87})
                    for k in keys[start:start + batch]))
            elapsed = time.perf_counter() - started
            await asyncio.sleep(1.0)
            after = snapshot()
            return {"twins": count, "first_reports_per_s": count / elapsed,
                    "bytes_per_active_twin": (after.total - before.total) / count,
                    "memory_kind": after.kind}
        result = asyncio.run(main())
    path = store_url.removeprefix("sqlite:///")
    disk = sum(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p))
    return result | {"disk_bytes_per_twin": disk / count}


def reads_writes(store_url: str, scale: dict[str, Any]) -> dict[str, Any]:
    """Calls to active twins from an asyncio driver: document() reads/s, report() writes/s."""
    n, seconds, batch = scale["devices"], scale["paced_seconds"], scale["batch"]
    with runtime(store_url):
        handles = [Meter.get(f"rw-{i:05d}") for i in range(n)]

        async def rate(call: Callable[[Any, int], Any]) -> float:
            done, started = 0, time.perf_counter()
            while time.perf_counter() - started < seconds:
                await asyncio.gather(*(call(handles[i % n], done + i) for i in range(batch)))
                done += batch
            return done / (time.perf_counter() - started)

        async def main() -> dict[str, Any]:
            await asyncio.gather(*(h.report.remote({"n": 0}) for h in handles))
            reads = await rate(lambda h, i: h.document.remote())
            writes = await rate(lambda h, i: h.report.remote({"n": i + 1}))
            return {"twins": n, "reads_per_s": reads, "writes_per_s": writes}
        return asyncio.run(main())


# ---------------------------------------------------------------------- driver
def main(argv: list[str] | None = None) -> int:
    def rows(urls: StoreUrls, scale: dict[str, Any]) -> dict[str, Callable[[], dict[str, Any]]]:
        return {
            "mqtt_reports": lambda: mqtt_reports(urls.sqlite(), scale),
            "fleet_query_sqlite": lambda: fleet_query(urls.sqlite(), scale),
            "fleet_query_postgres": lambda: fleet_query(urls.postgres(), scale),
            "watch_fanout": lambda: watch_fanout(urls.sqlite(), scale),
            "twin_memory": lambda: twin_memory(urls.sqlite(), scale),
            "reads_writes": lambda: reads_writes(urls.sqlite(), scale),
        }
    return store_driver.run(argv, description=__doc__.splitlines()[0],
                            title="twin benchmarks", tag="twins", scales=SCALES, rows=rows)


if __name__ == "__main__":
    raise SystemExit(main())
