"""See what a running actorium program is doing: logs, state API, metrics, dashboard.

    python examples/observability.py            # prints a report and exits
    python examples/observability.py --linger 60   # keeps the dashboard up for a minute

Worker output appears here prefixed with its origin, ``(Thermostat pid=... node=...)``.
"""

from __future__ import annotations

import argparse
import time
import urllib.request
from collections.abc import Callable
from typing import TypeVar

import actorium
from actorium.util import state

T = TypeVar("T")


@actorium.remote
class Thermostat:
    def __init__(self, room: str) -> None:
        self.room = room
        self.readings: list[float] = []

    def record(self, celsius: float) -> float:
        self.readings.append(celsius)
        if celsius > 25:
            print(f"{self.room}: too warm at {celsius:.1f} C")
        return sum(self.readings) / len(self.readings)


@actorium.remote
def calibrate(room: str) -> str:
    if room == "cellar":
        raise RuntimeError("no sensor in the cellar")
    return room


def wait_for(predicate: Callable[[], T], timeout: float = 10.0) -> T:
    """Workers report their statistics once a second: poll until they arrived."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    return predicate()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--linger", type=float, default=0.0,
                        help="seconds to keep the runtime (and its dashboard) up at the end")
    options = parser.parse_args()

    info = actorium.init()
    print(f"dashboard: {info.dashboard_url or 'off (install actorium[dashboard])'}")
    rooms = ["kitchen", "office", "lab"]
    thermostats = {room: Thermostat.options(name=room).remote(room) for room in rooms}
    for step in range(10):
        actorium.get([t.record.remote(20.0 + step * (i + 1) * 0.4)
                      for i, t in enumerate(thermostats.values())])
    for room in ["kitchen", "cellar"]:
        try:
            actorium.get(calibrate.remote(room))
        except RuntimeError as error:
            print(f"calibration failed: {error}".splitlines()[0])

    actors = state.list_actors(filters=[("class_name", "=", "Thermostat")])
    print(f"thermostat actors: {len(actors)} ({', '.join(sorted(a.name for a in actors))})")
    failed = wait_for(lambda: state.list_tasks(filters=[("state", "=", "FAILED")]))
    print(f"failed tasks: {len(failed)} ({failed[0].error if failed else '-'})")
    warm = wait_for(lambda: [line for line in state.list_logs() if "too warm" in line.text])
    print(f"log lines about warm rooms: {len(warm)}")

    recorded = 10 * len(rooms)
    calls_line = 'actorium_calls_total{kind="actor",name="Thermostat"}'

    def thermostat_calls() -> list[str]:
        # Reports arrive once a second and may catch the calls half done: wait for them all.
        lines = [line for line in state.metrics_text().splitlines()
                 if line.startswith(calls_line)]
        return lines if lines and lines[0].endswith(f" {recorded}") else []

    calls = wait_for(thermostat_calls, timeout=30.0)
    print(f"metric: {calls[0] if calls else 'not reported yet'}")
    if info.dashboard_url:
        with urllib.request.urlopen(f"{info.dashboard_url}/metrics", timeout=10) as response:
            scraped = response.read().decode()
        families = sum(1 for line in scraped.splitlines() if line.startswith("# TYPE"))
        print(f"/metrics serves {families} metric families")
    if options.linger:
        print(f"kill token for the dashboard's actions: {info['dashboard_token']}")
        time.sleep(options.linger)
    actorium.shutdown()


if __name__ == "__main__":
    main()
