"""How fast the dashboard's pages load with a fleet of actors (actorium only: the row times
our own dashboard in headless Chromium; Ray's dashboard is a separate service not timed here).

    python -m benchmarks.dashboard_fleet [--scale full|smoke] [--json FILE]

Creates the fleet (100,000 idle actors at full scale, in batches that each answer a first
call), calls a few of them so the timeline has something to draw, then times, in a fresh
browser tab for each, the load of every page until its content is drawn: the Overview (its
charts), Actors (class counts and the first page), one actor class, one actor, the node, the
Timeline (chart and event groups), Tasks, Objects, Logs and Metrics. On the Actors page it
also times what a user does next: the next page and a search, each from the click or
keystroke to the rows drawn. It times the JSON calls behind the Actors page too. The bound
the issue sets is one second per page; this script reports the figures, it asserts nothing
(``make bench-dashboard`` writes them to ``benchmarks/latest-dashboard.json``).

Figures are for the machine they ran on: compare rows of one run, not runs of two days.
"""

from __future__ import annotations

import argparse
import json
import os
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


def _actors_interactions(page: Any, base: str, total: int) -> dict[str, float]:
    """Milliseconds from a user's action on the Actors page to the new rows drawn."""
    from playwright.sync_api import expect

    out: dict[str, float] = {}
    count = page.locator("#actor-count")
    page.goto(f"{base}/#actors")
    expect(count).to_contain_text(f"of {total:,} actor(s)", timeout=60_000)
    start = time.perf_counter()
    page.locator("#next").click()
    expect(count).to_contain_text("51–100 of", timeout=60_000)
    out["actors_next"] = (time.perf_counter() - start) * 1000
    start = time.perf_counter()
    search = page.locator("#search")
    search.fill("ffff")
    search.press("Enter")
    expect(count).not_to_contain_text(f"of {total:,} actor(s)", timeout=60_000)
    out["actors_search"] = (time.perf_counter() - start) * 1000
    return out


# Pages whose screenshot --screenshots keeps, and the file names docs/observability.md shows.
SHOTS = {"overview": "dashboard-overview.png", "actors": "dashboard-fleet-actors.png",
         "class": "dashboard-class.png", "actor": "dashboard-actor-charts.png",
         "node": "dashboard-node.png", "timeline": "dashboard-fleet-timeline.png"}


def _pages(base: str, actor_id: str, node_id: str, total: int,
           shots: str | None = None) -> dict[str, float]:
    """Milliseconds from navigation to the drawn content, page by page (a fresh tab each)."""
    from playwright.sync_api import expect, sync_playwright

    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        raise SystemExit("needs Debian's chromium (and the playwright package)")
    waits = {"overview": ('.chart:has-text("Calls and tasks per second") polyline', None),
             "actors": ("#actors-table tr[data-actor]", '#classes-table tr[data-class="Twin"]'),
             "class/Twin": ('.chart:has-text("Actors alive")', None),
             f"actor/{actor_id}": ('.chart:has-text("Call latency")', None),
             f"node/{node_id}": ("#node-workers tr td", '.chart:has-text("Tasks") polyline'),
             "timeline": (".lanes rect", ".ev.actor_alive"),
             "tasks": ("#page table", None), "objects": ("#page table", None),
             "logs": ("#log-box", None), "metrics": ("#metric-rows :is(table, p)", None)}
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
                name = page_name.split("/")[0]
                out[name] = (time.perf_counter() - start) * 1000
                if shots and name in SHOTS:   # after the timing: it does not count
                    page.wait_for_timeout(500)
                    page.screenshot(path=os.path.join(shots, SHOTS[name]), full_page=True)
                page.close()
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            out.update(_actors_interactions(page, base, total))
            page.close()
        finally:
            browser.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="full")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--screenshots", metavar="DIR",
                        help="also save a screenshot of the main pages here (docs/images)")
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
        node_id = actorium.nodes()[0]["NodeID"]
        figures["load_1min"] = round(os.getloadavg()[0], 2)
        for page, ms in _pages(base, actor_id, node_id, len(handles), args.screenshots).items():
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
