"""Virtual actors: a fleet of thermostats that exist whether or not they are in memory.

    python examples/virtual_thermostats.py [--devices 2000]

Each thermostat is a virtual actor named by its device id. Nobody creates one: the first
reading for a device activates it (loading what it saved), an idle one is passivated (saved,
then dropped from memory), and a durable reminder wakes devices that have gone quiet. The
state lives in a sqlite file (a temporary one here; set ACTORIUM_STATE_STORE to keep it, or
to a postgresql:// URL for a cluster).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import tempfile
import time

import actorium


@actorium.virtual(idle_timeout=1.0)
class Thermostat(actorium.VirtualActor):
    """One device's twin: its last readings, and an alarm when it runs hot."""

    def __init__(self) -> None:
        self.state = {"readings": [], "alarms": 0, "checks": 0}

    async def report(self, celsius: float) -> bool:
        readings = self.state["readings"]
        readings.append(celsius)
        del readings[:-10]                       # keep the last ten
        hot = celsius > 30.0
        if hot:
            self.state["alarms"] += 1
            # Check on it again in half a second, even if it is passivated by then.
            await self.set_reminder("recheck", due=0.5)
        return hot

    async def receive_reminder(self, reminder: actorium.Reminder) -> None:
        self.state["checks"] += 1
        await self.save_state()

    async def summary(self) -> dict:
        readings = self.state["readings"]
        return {"mean": sum(readings) / len(readings), "alarms": self.state["alarms"],
                "checks": self.state["checks"], "epoch": self.epoch}


async def run(devices: int) -> None:
    rng = random.Random(7)
    fleet = [Thermostat.get(f"device-{i:05d}") for i in range(devices)]
    for _round in range(2):
        hot = await asyncio.gather(*(t.report.remote(rng.uniform(15, 32)) for t in fleet))
        print(f"round {_round + 1}: {len(fleet)} readings, {sum(hot)} alarms")
    # The state API blocks (it asks the node), so from async code it runs on a thread.
    summarize = actorium.util.state.summarize_virtual_actors
    active = (await asyncio.to_thread(summarize))["types"][0]["active"]
    print(f"active in memory: {active}")
    # Everyone goes quiet: the fleet is passivated, and the reminders still fire.
    deadline = time.monotonic() + 60
    while True:
        row = (await asyncio.to_thread(summarize))["types"][0]
        pending = await asyncio.to_thread(Thermostat.reminders)
        if row["active"] == 0 and not pending:
            break
        assert time.monotonic() < deadline, "the fleet never went quiet"
        await asyncio.sleep(0.2)
    print(f"after the quiet: active {row['active']}, passivated {row['passivated']}, "
          f"reminders left {len(pending)}")
    # One call brings a device back from the store, with everything it saved.
    back = await fleet[0].summary.remote()
    checks = sum([(await t.summary.remote())["checks"] for t in fleet[:50]])
    print(f"device-00000 is back (activation {back['epoch']}): mean {back['mean']:.1f} C, "
          f"{back['alarms']} alarms; the first 50 devices were rechecked {checks} times")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=2000)
    options = parser.parse_args()
    scratch = None
    if not os.environ.get("ACTORIUM_STATE_STORE"):
        scratch = tempfile.mkdtemp(prefix="actorium-example-")
        os.environ["ACTORIUM_STATE_STORE"] = f"sqlite:///{scratch}/state.sqlite3"
    actorium.init(num_cpus=2, include_dashboard=False)
    try:
        asyncio.run(run(options.devices))
    finally:
        actorium.shutdown()
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
