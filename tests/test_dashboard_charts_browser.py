"""Charts over time in a real browser: they draw the runtime's series and keep updating."""

from __future__ import annotations

import threading
import time

import pytest
from polling import eventually
from test_dashboard_browser import ARTIFACTS, _browser_or_skip, browser_page

import actorium

pytestmark = pytest.mark.timeout(180)


@actorium.remote
class Turbine:
    def spin(self):
        time.sleep(0.002)
        return 1


def _points(page, selector=".chart"):
    found = page.locator(selector)
    return int(found.first.get_attribute("data-points") or 0) if found.count() else 0


def _points_above(page, floor, selector=".chart"):
    # Polled from here: the page's CSP forbids the eval that wait_for_function needs.
    return eventually(lambda: _points(page, selector) > floor and _points(page, selector),
                      timeout=30, every=0.5)


def test_charts_render_the_series_and_update_live(start_runtime):
    executable = _browser_or_skip()
    from playwright.sync_api import expect

    info = start_runtime()
    turbines = [Turbine.remote() for _ in range(3)]
    stop = threading.Event()

    def load():
        while not stop.is_set():
            actorium.get([t.spin.remote() for t in turbines])

    node = actorium.nodes()[0]["NodeID"]
    driver = threading.Thread(target=load)
    driver.start()
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        with browser_page(executable) as (page, problems):
            page.goto(f"{info.dashboard_url}/#overview")
            chart = '.chart:has-text("Calls and tasks per second")'
            expect(page.locator(chart)).to_be_visible(timeout=15_000)
            _points_above(page, 1, chart)
            assert page.locator(f"{chart} polyline").count() >= 1
            before = _points(page, chart)
            # The chart redraws by itself as new samples arrive (every 2 s).
            _points_above(page, before, chart)
            page.screenshot(path=str(ARTIFACTS / "dashboard-overview-charts.png"),
                            full_page=True)
            # The window reaches back over the hour the runtime keeps.
            with page.expect_request(lambda r: "/api/series" in r.url
                                     and "window=3600" in r.url):
                page.locator(".chart-window").select_option("3600")
            expect(page.locator(chart)).to_contain_text("-1 h")
            page.locator(".chart-window").select_option("600")
            expect(page.locator(chart)).to_contain_text("-10 min")
            page.goto(f"{info.dashboard_url}/#class/Turbine")
            expect(page.locator('.chart:has-text("Actors alive")')).to_contain_text(
                "actors_alive 3", timeout=30_000)
            expect(page.locator("#class-actors")).to_have_text("3")
            expect(page.locator('.chart:has-text("Memory of its workers")')).to_contain_text(
                "MiB", timeout=30_000)       # the resident memory of the worker hosting them
            page.screenshot(path=str(ARTIFACTS / "dashboard-class.png"), full_page=True)
            page.locator("#class-now a", has_text="list them").click()
            expect(page.locator("#actor-count")).to_have_text("1–3 of 3 actor(s)",
                                                              timeout=15_000)
            expect(page.locator("#chosen")).to_contain_text("class name Turbine")
            page.goto(f"{info.dashboard_url}/#actor/{turbines[0]._actor_id.hex()}")
            _points_above(page, 0)
            assert page.locator('.chart:has-text("Call latency") polyline').count() >= 1
            page.screenshot(path=str(ARTIFACTS / "dashboard-actor-charts.png"), full_page=True)
            page.goto(f"{info.dashboard_url}/#node/{node}")
            _points_above(page, 0)
            # The node's workers, the host of the Turbines among them.
            expect(page.locator("#node-workers")).to_contain_text("host", timeout=15_000)
            page.screenshot(path=str(ARTIFACTS / "dashboard-node.png"), full_page=True)
            page.locator("#node-now a", has_text="its actors").click()
            expect(page.locator("#actor-count")).to_have_text("1–3 of 3 actor(s)",
                                                              timeout=15_000)
        assert not problems, problems
    finally:
        stop.set()
        driver.join()
