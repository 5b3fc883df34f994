"""The fleet pages in a real browser: classes with counts, server-side pages, events in
groups that drill down, and the timeline of the calls that ran, with its export."""

from __future__ import annotations

import concurrent.futures
import time

import pytest
from polling import eventually
from test_dashboard_browser import ARTIFACTS, _browser_or_skip, browser_page

import actorium

pytestmark = pytest.mark.timeout(180)


@actorium.remote
class Beacon:
    def blink(self):
        time.sleep(0.003)
        return 1


@actorium.remote
def sweep(x):
    time.sleep(0.003)
    return x


def test_fleet_pages_group_page_and_drill_down(start_runtime):
    executable = _browser_or_skip()
    from playwright.sync_api import expect

    info = start_runtime()
    beacons = [Beacon.remote() for _ in range(60)]
    actorium.get([b.blink.remote() for b in beacons] + [sweep.remote(i) for i in range(5)])
    ARTIFACTS.mkdir(exist_ok=True)
    with browser_page(executable) as (page, problems):
        page.goto(f"{info.dashboard_url}/#actors")
        classes = page.locator('#classes-table tr[data-class="Beacon"]')
        expect(classes).to_contain_text("60", timeout=15_000)
        expect(classes).to_contain_text("ALIVE")
        classes.click()
        count = page.locator("#actor-count")
        expect(count).to_have_text("1–50 of 60 actor(s)", timeout=15_000)
        assert page.locator("#actors-table tr[data-actor]").count() == 50
        page.screenshot(path=str(ARTIFACTS / "dashboard-fleet-actors.png"), full_page=True)
        page.locator("#next").click()
        expect(count).to_have_text("51–60 of 60 actor(s)", timeout=15_000)
        assert page.locator("#actors-table tr[data-actor]").count() == 10

        page.goto(f"{info.dashboard_url}/#timeline")
        group = page.locator('.ev.actor_alive:has-text("60 Beacon actors became alive")')
        expect(group).to_be_visible(timeout=15_000)
        group.locator("[data-drill]").click()
        drilled = page.locator(".drill .ev.actor_alive")
        expect(drilled).to_have_count(60, timeout=15_000)
        lanes = page.locator(".lanes")
        eventually(lambda: int(lanes.get_attribute("data-bars") or 0) >= 60, timeout=30)
        assert page.locator(".lanes rect title", has_text="Beacon.blink").count() >= 60
        assert page.locator(".lanes rect title", has_text="sweep").count() >= 5
        page.locator("#zoom-in").click()
        assert page.locator("#lane-info").text_content().endswith("live")
        with page.expect_download() as download:
            page.locator("#export").click()
        assert download.value.suggested_filename.startswith("actorium-timeline-")
        page.screenshot(path=str(ARTIFACTS / "dashboard-fleet-timeline.png"))
        # The wheel zooms around the pointer (the view stops following now), "follow live"
        # comes back; a call's bar opens its actor.
        box = lanes.locator("svg").bounding_box()
        page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] / 2)
        page.mouse.wheel(0, -300)
        eventually(lambda: not page.locator("#lane-info").text_content().endswith("live"),
                   timeout=10)
        page.locator("#follow").click()
        assert page.locator("#lane-info").text_content().endswith("live")
        bar = page.locator(".lanes rect[data-actor]").first
        actor_id = bar.get_attribute("data-actor")
        assert actor_id in {b._actor_id.hex() for b in beacons}
        bar.dispatch_event("click")
        expect(page.locator("#title")).to_contain_text("Actor", timeout=10_000)
        assert page.url.endswith(f"#actor/{actor_id}")
    assert not problems, problems


def test_the_timeline_refresh_adds_only_new_calls(start_runtime):
    """A refresh asks only for what ended since the latest call it has (not the whole 15
    minutes again), yet every call shows exactly once: calls made after the page was opened
    appear, and the overlap between refreshes is not drawn twice."""
    executable = _browser_or_skip()
    info = start_runtime()
    beacons = [Beacon.remote() for _ in range(4)]
    actorium.get([b.blink.remote() for b in beacons for _ in range(10)])
    with browser_page(executable) as (page, problems):
        asked: list[float] = []
        page.on("request", lambda r: asked.append(float(r.url.split("since=")[1].split("&")[0]))
                if "/api/timeline?since=" in r.url else None)
        page.goto(f"{info.dashboard_url}/#timeline")
        blinks = page.locator(".lanes rect title", has_text="Beacon.blink")
        eventually(lambda: blinks.count() == 40, timeout=30)
        # Playwright's sync API runs an event loop on this thread: call from another one.
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            pool.submit(lambda: actorium.get([b.blink.remote() for b in beacons
                                              for _ in range(5)])).result(timeout=60)
        eventually(lambda: blinks.count() == 60, timeout=30)
        seen = len(asked)
        # Two refreshes more (the requests are seen while playwright runs, hence the wait).
        eventually(lambda: page.wait_for_timeout(100) or len(asked) >= seen + 2, timeout=30)
        assert blinks.count() == 60
        assert asked[-1] > asked[0] + 60    # the first asked for 15 minutes, a refresh for less
    assert not problems, problems


def test_user_metrics_are_charted_on_the_metrics_page(start_runtime):
    executable = _browser_or_skip()
    from playwright.sync_api import expect

    from actorium.util.metrics import Counter, Gauge

    info = start_runtime()
    pings = Counter("fleet_pings", description="pings sent", tag_keys=("site",))
    level = Gauge("fleet_level", description="tank level")
    with browser_page(executable) as (page, problems):
        page.goto(f"{info.dashboard_url}/#metrics")
        rate = page.locator('.chart:has-text("fleet_pings{site=north}")')
        gauge = page.locator('.chart:has-text("fleet_level")')

        def points(chart):
            pings.inc(5, tags={"site": "north"})
            level.set(42.0)
            return chart.count() and int(chart.first.get_attribute("data-points") or 0)
        eventually(lambda: points(rate) >= 2 and points(gauge) >= 2, timeout=40, every=0.5)
        expect(gauge).to_contain_text("value 42")
        assert rate.locator("polyline").count() == 1
        page.screenshot(path=str(ARTIFACTS / "dashboard-metrics-charts.png"), full_page=True)
    assert not problems, problems


@pytest.mark.timeout(300)
def test_the_dashboard_benchmark_times_every_page_at_smoke_scale(tmp_path):
    """make bench-dashboard keeps working: every page and interaction gets a time."""
    _browser_or_skip()
    import json
    import pathlib
    import subprocess
    import sys

    out = tmp_path / "figures.json"
    repo = pathlib.Path(__file__).resolve().parent.parent
    subprocess.run([sys.executable, "-m", "benchmarks.dashboard_fleet", "--scale", "smoke",
                    "--json", str(out), "--screenshots", str(tmp_path)],
                   cwd=repo, check=True, timeout=280, capture_output=True)
    figures = json.loads(out.read_text())
    assert figures["actors"] == 500
    pages = ("overview", "actors", "class", "actor", "node", "timeline", "tasks", "objects",
             "logs", "metrics", "actors_next", "actors_search")
    for page in pages:
        assert figures[f"page_{page}_ms"] > 0, page
    assert (tmp_path / "dashboard-fleet-actors.png").stat().st_size > 10_000
