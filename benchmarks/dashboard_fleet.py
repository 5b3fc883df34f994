"""How fast the dashboard's pages load with a fleet of actors (actorium only: the row times
our own dashboard in headless Chromium; Ray's dashboard is a separate service not timed here).

    python -m benchmarks.dashboard_fleet [--scale full|smoke] [--json FILE]

Creates the fleet (100,000 idle actors at full scale, in batches that each answer a first
call), calls a few of them so the timeline has something to draw, then times, in a fresh
browser tab for each, the load of every page until its content is drawn: the Overview (its
charts), Actors (class counts and the first page), one actor class, one actor, the Timeline
(chart and event groups). It also times the JSON calls behind the Actors page. The bound the
issue sets is one second per page; this script reports the figures, it asserts nothing.

Figures are for the machine they ran on: compare rows of one run, not runs of two days.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
import urllib.request
from typing import Any

import actorium

SCALES = {"full": {"actors": 100_000, "batch": 2_000}, "smoke": {"actors": 500, "batch": 250}}


@actorium.remote
class Twin:
    def ping(self) -> int:
        return 1


def _fleet(count: int, batch: int) -> tuple[list[Any], float]:
    handles: list[Any] = []
    start = time.perf_counter()
    while len(handles) < count:
        new = [Twin.remote() for _ in range(min(batch, count - len(handles)))]
        actorium.get([h.ping.remote() for h in new])
        handles.extend(new)
    return handles, time.perf_counter() - start


def _api_ms(url: str) -> float:
    start = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as response:
        response.read()
    return (time.perf_counter() - start) * 1000


def _pages(base: str, actor_id: str) -> dict[str, float]:
    """Milliseconds from navigation to the drawn content, page by page (a fresh tab each)."""
    from playwright.sync_api import expect, sync_playwright

    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        raise SystemExit("needs Debian's chromium (and the playwright package)")
    waits = {"overview": ('.chart:has-text("Calls and tasks per second") polyline', None),
             "actors": ("#actors-table tr[data-actor]", '#classes-table tr[data-class="Twin"]'),
             "class/Twin": ('.chart:has-text("Actors alive")', None),
             f"actor/{actor_id}": ('.chart:has-text("Call latency")', None),
             "timeline": (".lanes rect", ".ev.actor_alive")}
    out: dict[str, float] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable,
                                             args=["--no-sandbox", "--disable-gpu"])
        try:
            for page_name, selectors in waits.items():
                page = browser.new_page(viewport={"width": 1280, "height": 800})
                start = time.perf_counter()
                page.goto(f"{base}/#{page_name}")
                for selector in selectors:
                    if selector:
                        expect(page.locator(selector).first).to_be_attached(timeout=60_000)
                out[page_name.split("/")[0]] = (time.perf_counter() - start) * 1000
                page.close()
        finally:
            browser.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="full")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    scale = SCALES[args.scale]
    info = actorium.init()
    try:
        handles, create_s = _fleet(scale["actors"], scale["batch"])
        actorium.get([h.ping.remote() for h in handles[:200]])
        time.sleep(4.5)   # two samples of the series and the workers' call reports
        base = info.dashboard_url
        figures: dict[str, Any] = {"actors": len(handles), "create_s": round(create_s, 1),
                                   "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
        for name, path in (("api_classes", "/api/fleet/classes"),
                           ("api_actors_page", "/api/fleet/actors?limit=50"),
                           ("api_actors_last_page",
                            f"/api/fleet/actors?limit=50&offset={max(0, len(handles) - 50)}"),
                           ("api_actors_search", "/api/fleet/actors?search=ffff&limit=50"),
                           ("api_summary", "/api/summary"),
                           ("api_timeline", "/api/timeline")):
            figures[f"{name}_ms"] = round(_api_ms(base + path), 1)
        actor_id = handles[0]._actor_id.hex()
        for page, ms in _pages(base, actor_id).items():
            figures[f"page_{page}_ms"] = round(ms, 1)
    finally:
        actorium.shutdown()
    width = max(map(len, figures))
    for key, value in figures.items():
        print(f"{key:<{width}}  {value}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(figures, out, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
