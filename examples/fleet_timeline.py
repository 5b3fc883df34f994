"""Survey a fleet of actors and see what ran where: class counts, a page of actors, events in
groups, and the timeline in Chrome's trace format (``actorium.timeline()``, as ray.timeline()).

    python examples/fleet_timeline.py                    # prints a report and exits
    python examples/fleet_timeline.py --twins 5000 --linger 120   # then look at the dashboard

Open the written trace file in chrome://tracing or https://ui.perfetto.dev.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import urllib.request
from typing import Any

import actorium


@actorium.remote
class Twin:
    def __init__(self, serial: int) -> None:
        self.serial = serial

    def report(self) -> int:
        time.sleep(0.002)
        return self.serial


@actorium.remote
def inspect(serial: int) -> bool:
    time.sleep(0.005)
    return serial % 2 == 0


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.load(response)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--twins", type=int, default=200, help="how many Twin actors")
    parser.add_argument("--linger", type=float, default=0.0,
                        help="seconds to keep the runtime (and its dashboard) up at the end")
    options = parser.parse_args()

    info = actorium.init()
    twins = [Twin.remote(i) for i in range(options.twins)]
    actorium.get([t.report.remote() for t in twins])
    actorium.get([inspect.remote(i) for i in range(8)])
    actorium.kill(twins[0])

    base = info.dashboard_url
    fleet = get_json(f"{base}/api/fleet/classes")
    twin_class = next(c for c in fleet["classes"] if c["class_name"] == "Twin")
    print(f"Twin actors: {twin_class['total']} "
          f"({', '.join(f'{n} {s}' for s, n in sorted(twin_class['states'].items()))})")
    page = get_json(f"{base}/api/fleet/actors?class_name=Twin&state=ALIVE&limit=20&offset=20")
    print(f"page 2 of the alive twins: {len(page['rows'])} rows of {page['total']}")
    groups = get_json(f"{base}/api/fleet/events")
    alive = next(g for g in groups if g["kind"] == "actor_alive" and g["class_name"] == "Twin")
    print(f"event group: {alive['message']}")

    # Workers report their calls about once a second: wait until the timeline has them all.
    deadline = time.monotonic() + 20
    calls: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        calls = [e for e in actorium.timeline() or [] if e["ph"] == "X"]
        if sum(e["name"] == "Twin.report" for e in calls) >= options.twins \
                and sum(e["name"].endswith("inspect") for e in calls) >= 8:
            break
        time.sleep(0.3)
    rows = {e["tid"] for e in calls}
    print(f"timeline: {sum(e['name'] == 'Twin.report' for e in calls)} Twin.report calls and "
          f"{sum(e['name'].endswith('inspect') for e in calls)} inspect tasks "
          f"on {len(rows)} worker row(s)")
    path = os.path.join(tempfile.mkdtemp(prefix="actorium-trace-"), "timeline.json")
    actorium.timeline(path)
    print(f"trace written: {os.path.basename(path)}, {os.path.getsize(path)} bytes")
    if options.linger:
        print(f"dashboard: {base}/#timeline")
        time.sleep(options.linger)
    actorium.shutdown()
    os.remove(path)
    os.rmdir(os.path.dirname(path))


if __name__ == "__main__":
    main()
