"""A fleet of greenhouse sensors fed over MQTT: twins, a bridge, a fleet watch and queries.

    python examples/fleet_mqtt.py [--devices 200] [--rounds 3] [--broker mqtt://user:pw@host:1883]

Without ``--broker`` the script starts a private mosquitto of its own (Debian's
``/usr/sbin/mosquitto``: ``apt-get install mosquitto``) on a free loopback port, with a login.
Then:

* each ``Greenhouse`` twin is fed by a ``twins.MqttBridge``: the simulated devices publish
  their readings (with their own message counter, ``seq``) on ``devices/<key>/reported``;
* a twin whose temperature goes over 30 C desires its vent open (its ``on_reported`` hook);
  the bridge publishes the desired state on ``devices/<key>/desired``, the device opens the
  vent and reports it, and the twin's delta is empty again;
* a fleet watch (``twins.watch(Greenhouse, where=...)``) follows the hot greenhouses: it
  sees each one come into the query and leave it when it cools down;
* fleet queries answer from the twin index, without calling a twin: the hot ones, the
  ones whose vent is still to be opened, the greenhouses of one site (``related``).

The state lives in a temporary sqlite file (set ACTORIUM_STATE_STORE to keep it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import tempfile
import time
from typing import Any

import actorium
from actorium import twins
from actorium.twins import Field, related

HOT = 30.0       # C: over this, the vent should be open
COOL = 26.0      # C: under this, it may close again


@twins.twin(history=20, idle_timeout=120)
class Greenhouse(twins.Twin):
    """One greenhouse's sensor box: temperature, humidity, and a vent it can open."""

    async def on_reported(self, change: twins.TwinChange) -> None:
        reported = change.document["reported"]
        temp = reported.get("temp")
        if not isinstance(temp, (int, float)):
            return
        vent = change.document["desired"].get("vent")
        if temp > HOT and vent != "open":
            await self.desire({"vent": "open"})
        elif temp < COOL and vent == "open":
            await self.desire({"vent": "closed"})


@twins.twin(idle_timeout=120)
class Site(twins.Twin):
    """A farm site; greenhouses link to it (``links.site``)."""


class Devices:
    """The simulated sensor boxes: one MQTT connection for the fleet (as a gateway would
    have), publishing readings and obeying the desired state the bridge sends back."""

    def __init__(self, broker: twins.MqttBroker, keys: list[str], seed: int) -> None:
        import aiomqtt
        self.client = aiomqtt.Client(broker.host, broker.effective_port,
                                     username=broker.username, password=broker.password,
                                     identifier="fleet-devices", tls_context=broker.ssl_context())
        self.keys = keys
        self.rng = random.Random(seed)
        self.seq = {key: 0 for key in keys}
        self.vent = {key: "closed" for key in keys}
        self.published = 0
        self.desired_received = 0

    async def publish(self, key: str, state: dict[str, Any]) -> None:
        self.seq[key] += 1
        await self.client.publish(f"devices/{key}/reported",
                                  json.dumps({"state": state, "seq": self.seq[key]}), qos=1)
        self.published += 1

    async def reading_round(self, hot_share: float) -> None:
        for key in self.keys:
            hot = self.rng.random() < hot_share
            temp = round(self.rng.uniform(31, 38) if hot else self.rng.uniform(18, 25), 1)
            await self.publish(key, {"temp": temp, "humidity": self.rng.randint(40, 90)})

    async def obey(self) -> None:
        """Apply each desired state the bridge sends (a device opening its vent)."""
        async for message in self.client.messages:
            key = str(message.topic).split("/")[1]
            desired = json.loads(message.payload)["desired"]
            self.desired_received += 1
            want = desired.get("vent")
            if want is not None and want != self.vent.get(key):
                self.vent[key] = want
                await self.publish(key, {"vent": want})


async def eventually(check: Any, what: str, wait: float = 60.0) -> Any:
    deadline = time.monotonic() + wait
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what} (last: {value!r})")
        await asyncio.sleep(0.1)


async def run(broker: twins.MqttBroker, devices: int, rounds: int, seed: int) -> None:
    keys = [f"gh-{i:04d}" for i in range(devices)]
    sites = ["north", "south"]
    for site, country in zip(sites, ("no", "es"), strict=True):
        await Site.get(site).report.remote({"country": country})
    await asyncio.gather(*(Greenhouse.get(key).link.remote("site", sites[i % 2])
                           for i, key in enumerate(keys)))

    hot_query = Field("reported.temp") > HOT
    entered: set[str] = set()
    left: set[str] = set()

    async def follow_hot() -> None:
        # Starts at the journal's head: the changes made from now on.
        async with contextlib.aclosing(twins.watch(Greenhouse, where=hot_query)) as changes:
            async for change in changes:
                (left if change.left else entered).add(change.key)

    watcher = asyncio.create_task(follow_hot())
    started = time.perf_counter()
    async with twins.MqttBridge(Greenhouse, broker, client_id="fleet-example-bridge") as bridge:
        fleet = Devices(broker, keys, seed)
        async with fleet.client:
            await fleet.client.subscribe("devices/+/desired", qos=1)
            obeying = asyncio.create_task(fleet.obey())
            for number in range(1, rounds + 1):
                # The last round is cool everywhere: every open vent closes again.
                await fleet.reading_round(hot_share=0.3 if number < rounds else 0.0)

                async def applied() -> bool:
                    return bridge.stats.applied + bridge.stats.rejected >= fleet.published
                await eventually(applied, f"round {number} to be applied")
                hot = await twins.count_async(Greenhouse, hot_query)
                print(f"round {number}/{rounds}: {len(keys)} readings, {hot} hot")
                if number == rounds - 1:
                    await report_queries(hot_query, sites)

            async def settled() -> bool:
                pending = await twins.count_async(Greenhouse, Field("delta.vent").exists())
                return pending == 0 and bridge.stats.applied >= fleet.published
            await eventually(settled, "every vent to follow its twin")
            obeying.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await obeying
        elapsed = time.perf_counter() - started
        stats = bridge.stats

    async def watch_caught_up() -> bool:
        return bool(entered) and left >= entered
    await eventually(watch_caught_up, "the watch to see the hot greenhouses cool down")
    watcher.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await watcher

    print(f"reports published: {fleet.published}")
    print(f"reports applied: {stats.applied}")
    print(f"reports rejected: {stats.rejected}")
    print(f"desired published: {stats.desired_published}")
    print(f"desired received by devices: {fleet.desired_received}")
    print(f"watch: {len(entered)} greenhouses got hot, {len(left)} cooled down again")
    still = await twins.count_async(Greenhouse, hot_query)
    print(f"hot now: {still}")
    print(f"vents still to move: "
          f"{await twins.count_async(Greenhouse, Field('delta.vent').exists())}")
    print(f"reports/s end to end: {fleet.published / elapsed:,.0f}")


async def report_queries(hot_query: twins.Condition, sites: list[str]) -> None:
    """Fleet queries, answered from the twin index (no twin is called)."""
    hottest = await twins.query_async(Greenhouse, hot_query, order_by="-reported.temp",
                                      limit=3)
    print("hottest: " + ", ".join(f"{r.key} {r.document['reported']['temp']} C"
                                  for r in hottest))
    waiting = await twins.count_async(Greenhouse, Field("delta.vent") == "open")
    print(f"vents still to open: {waiting}")
    in_north = await twins.count_async(
        Greenhouse, hot_query & related("site", Field("reported.country") == "no", of=Site))
    print(f"hot in the north site: {in_north}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--broker", default=None,
                        help="an MQTT broker URL (default: start a private mosquitto)")
    options = parser.parse_args()
    if options.devices < 1 or options.rounds < 2:
        parser.error("--devices must be >= 1 and --rounds >= 2")
    scratch = None
    if not os.environ.get("ACTORIUM_STATE_STORE"):
        scratch = tempfile.mkdtemp(prefix="actorium-example-")
        os.environ["ACTORIUM_STATE_STORE"] = f"sqlite:///{scratch}/state.sqlite3"
    with contextlib.ExitStack() as stack:
        if scratch is not None:
            stack.callback(shutil.rmtree, scratch, ignore_errors=True)
        if options.broker is None:
            broker = stack.enter_context(twins.LocalMosquitto()).broker
        else:
            broker = twins.MqttBroker.from_url(options.broker)
        actorium.init(num_cpus=2, include_dashboard=False)
        stack.callback(actorium.shutdown)
        asyncio.run(run(broker, options.devices, options.rounds, options.seed))


if __name__ == "__main__":
    main()
