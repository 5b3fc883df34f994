"""The dashboard's Metrics page shows application metrics, in a real browser (Chromium)."""

from __future__ import annotations

import pytest
from polling import eventually
from test_dashboard_browser import ARTIFACTS, _browser_or_skip

import actorium as ray
from actorium.util import state
from actorium.util.metrics import Counter, Gauge, Histogram

pytestmark = pytest.mark.timeout(180)


@ray.remote
class Pump:
    def __init__(self, name):
        self.strokes = Counter("pump_strokes", description="Strokes of the pump.",
                               tag_keys=("pump",)).set_default_tags({"pump": name})
        self.pressure = Gauge("pump_pressure_bar", tag_keys=("pump",)).set_default_tags(
            {"pump": name})
        self.cycle = Histogram("pump_cycle_ms", boundaries=[10, 100], tag_keys=("pump",))
        self.cycle.set_default_tags({"pump": name})

    def stroke(self, millis, pressure):
        self.strokes.inc()
        self.pressure.set(pressure)
        self.cycle.observe(millis)


def test_the_metrics_page_lists_what_actors_recorded(start_runtime):
    executable = _browser_or_skip()
    from playwright.sync_api import expect, sync_playwright

    info = start_runtime()
    pump = Pump.remote("north")
    ray.get([pump.stroke.remote(5, 2.5), pump.stroke.remote(50, 3.25),
             pump.stroke.remote(500, 1.75)])
    eventually(lambda: state.list_app_metrics("pump_cycle_ms"), timeout=20)
    problems: list[str] = []
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable,
                                             args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.goto(f"{info.dashboard_url}/#metrics")
            strokes = page.locator('tr[data-metric="pump_strokes"]')
            expect(strokes).to_contain_text("pump=north", timeout=15_000)
            expect(strokes).to_contain_text("3")
            expect(page.locator('tr[data-metric="pump_pressure_bar"]')).to_contain_text("1.75")
            cycle = page.locator('tr[data-metric="pump_cycle_ms"]')
            expect(cycle).to_contain_text("count 3 · sum 555")
            assert cycle.locator(".hist-cell").count() == 3        # 10, 100, +Inf
            page.screenshot(path=str(ARTIFACTS / "dashboard-metrics.png"), full_page=True)
            page.fill("#metric-filter", "pressure")
            expect(page.locator('tr[data-metric="pump_strokes"]')).to_have_count(0)
            expect(page.locator('tr[data-metric="pump_pressure_bar"]')).to_have_count(1)
        finally:
            browser.close()
    assert not problems, problems
