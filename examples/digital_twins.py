"""Digital twins of a fleet of edge devices: one async actor per device.

Each ``DeviceTwin`` mirrors one device: it keeps the last reading, an EWMA of the temperature,
the peak temperature, the battery level and the uptime. When a reading crosses a threshold the
twin reports an alert to a single ``AlertHub`` actor, by awaiting an actor call from inside its
own async method (actor-to-actor, no driver involved).

What it shows:

* thousands of lightweight actors: no ``num_cpus``, so they share a few host worker processes;
* async actor methods that ``await`` other actors (``await self.hub.report.remote(...)``);
* an asyncio driver: each round of telemetry is sent to every twin and awaited with
  ``asyncio.gather`` inside ``async def main()``, run by ``asyncio.run``.

The telemetry is simulated in the driver and fully determined by ``--seed``: temperatures
drift, a few devices have a failing fan and overheat, a few batteries drain fast.

    python examples/digital_twins.py [--devices 3000] [--rounds 5] [--seed 7]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from collections import Counter
from typing import Any

import actorium

OVERHEAT_C = 80.0       # EWMA temperature that raises an "overheating" alert
LOW_BATTERY_PCT = 15.0  # battery level that raises a "low_battery" alert
EWMA_ALPHA = 0.5
SECONDS_PER_ROUND = 60  # simulated time between two readings of a device


class _AlertHub:
    """Collects the alerts raised by every twin."""

    def __init__(self) -> None:
        self.alerts: list[tuple[str, str, float]] = []

    async def report(self, device: str, kind: str, value: float) -> int:
        self.alerts.append((device, kind, value))
        return len(self.alerts)

    async def by_kind(self) -> dict[str, int]:
        return dict(Counter(kind for _, kind, _ in self.alerts))


# Made from the plain class, which annotations can then name (docs/typing.md).
AlertHub = actorium.remote(_AlertHub)


@actorium.remote
class DeviceTwin:
    """The live state of one device, updated by its telemetry."""

    def __init__(self, device: str, hub: actorium.ActorHandle[_AlertHub]) -> None:
        self.device = device
        self.hub = hub
        self.messages = 0
        self.last: dict[str, float] = {}
        self.ewma_temp: float | None = None
        self.peak_temp = float("-inf")
        self.first_seen: float | None = None
        self.raised: set[str] = set()   # alert kinds currently active, raised once each

    async def ingest(self, reading: dict[str, float]) -> int:
        """Apply one reading; return how many alerts it raised."""
        self.messages += 1
        self.last = reading
        temp = reading["temp_c"]
        self.ewma_temp = temp if self.ewma_temp is None else (
            EWMA_ALPHA * temp + (1 - EWMA_ALPHA) * self.ewma_temp)
        self.peak_temp = max(self.peak_temp, temp)
        if self.first_seen is None:
            self.first_seen = reading["t"]
        raised = 0
        for kind, firing, value in (
                ("overheating", self.ewma_temp > OVERHEAT_C, self.ewma_temp),
                ("low_battery", reading["battery_pct"] < LOW_BATTERY_PCT, reading["battery_pct"])):
            if firing and kind not in self.raised:
                self.raised.add(kind)
                await self.hub.report.remote(self.device, kind, round(value, 1))
                raised += 1
            elif not firing:
                self.raised.discard(kind)
        return raised

    async def state(self) -> dict[str, Any]:
        return {"device": self.device, "messages": self.messages,
                "ewma_temp": self.ewma_temp, "peak_temp": self.peak_temp,
                "battery_pct": self.last.get("battery_pct"),
                "uptime_s": self.last.get("t", 0.0) - (self.first_seen or 0.0),
                "alerts": sorted(self.raised)}


class SimulatedFleet:
    """The physical devices, simulated: each has its own deterministic random stream."""

    def __init__(self, count: int, seed: int) -> None:
        self.devices: list[dict[str, Any]] = []
        for index in range(count):
            rng = random.Random(f"{seed}-{index}")
            self.devices.append({
                "rng": rng,
                "temp_c": rng.uniform(30.0, 55.0),
                "drift": rng.uniform(-0.5, 1.5),
                "failing_fan": rng.random() < 0.02,
                "battery_pct": rng.uniform(35.0, 100.0),
                "drain": rng.uniform(0.2, 1.5) * (12 if rng.random() < 0.03 else 1),
            })

    def readings(self, round_no: int) -> list[dict[str, float]]:
        out = []
        for device in self.devices:
            rng = device["rng"]
            heat = 9.0 if device["failing_fan"] else 0.0
            device["temp_c"] += device["drift"] + heat + rng.gauss(0.0, 0.8)
            device["battery_pct"] = max(0.0, device["battery_pct"] - device["drain"])
            out.append({"t": float(round_no * SECONDS_PER_ROUND),
                        "temp_c": round(device["temp_c"], 2),
                        "battery_pct": round(device["battery_pct"], 2)})
        return out


async def main(devices: int, rounds: int, seed: int, started: float) -> None:
    hub = AlertHub.remote()
    twins = [DeviceTwin.remote(f"dev-{i:05d}", hub) for i in range(devices)]
    fleet = SimulatedFleet(devices, seed)

    sending = time.perf_counter()
    for round_no in range(1, rounds + 1):
        readings = fleet.readings(round_no)
        raised = await asyncio.gather(*(twin.ingest.remote(reading)
                                        for twin, reading in zip(twins, readings, strict=True)))
        print(f"round {round_no}/{rounds}: {len(twins)} readings, {sum(raised)} new alerts")
    telemetry_seconds = time.perf_counter() - sending

    states = await asyncio.gather(*(twin.state.remote() for twin in twins))
    by_kind = await hub.by_kind.remote()
    processed = sum(state["messages"] for state in states)
    hottest = sorted(states, key=lambda state: state["ewma_temp"], reverse=True)[:5]

    print("\n=== fleet summary ===")
    print(f"devices:             {devices}")
    print(f"telemetry messages:  {processed}")
    print(f"messages/s:          {processed / telemetry_seconds:,.0f}")
    print(f"alerts raised:       {sum(by_kind.values())}")
    for kind, count in sorted(by_kind.items()):
        print(f"  {kind:<18} {count}")
    print("top-5 hottest devices (EWMA):")
    for state in hottest:
        print(f"  {state['device']}  ewma {state['ewma_temp']:6.1f} C  "
              f"peak {state['peak_temp']:6.1f} C  battery {state['battery_pct']:5.1f} %  "
              f"up {state['uptime_s']:.0f} s  active alerts: {', '.join(state['alerts']) or '-'}")
    print(f"wall time:           {time.perf_counter() - started:.2f} s (start-up included)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=str(__doc__).splitlines()[0])
    parser.add_argument("--devices", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    started = time.perf_counter()
    actorium.init()   # blocking: call it before asyncio.run(), not inside the loop
    try:
        asyncio.run(main(args.devices, args.rounds, args.seed, started))
    finally:
        actorium.shutdown()
