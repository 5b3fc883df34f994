"""The dashboard shows virtual actors: types, active and passivated counts, activations per
node and reminders, in the JSON API and on its own page in a real browser."""

from __future__ import annotations

import json
import pathlib
import time
import urllib.request

import pytest
from test_dashboard_browser import _browser_or_skip

import actorium

pytestmark = pytest.mark.timeout(180)

ARTIFACTS = pathlib.Path(__file__).parent.parent / "artifacts"


@actorium.virtual(type_name="Valve", idle_timeout=0.3)
class Valve(actorium.VirtualActor):
    async def open(self, percent: int) -> int:
        self.state["open"] = percent
        if self.key == "v0":
            await self.set_reminder("service", due=3600, period=86400)
        return percent


def fetch(url: str):
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def test_the_virtual_actors_page_shows_types_counts_nodes_and_reminders(use_store, sqlite_url):
    info = use_store(sqlite_url, include_dashboard=True)
    valves = [Valve.get(f"v{i}") for i in range(6)]
    actorium.get([v.open.remote(10 * i) for i, v in enumerate(valves)])
    # Passivated after 0.3 s idle; two are called again and stay active for a moment.
    deadline = time.monotonic() + 30
    while fetch(f"{info.dashboard_url}/api/virtual/summary")["types"][0]["passivated"] < 6:
        assert time.monotonic() < deadline, "the valves were never passivated"
        time.sleep(0.1)
    summary = fetch(f"{info.dashboard_url}/api/virtual/summary")
    (row,) = summary["types"]
    assert (row["type_name"], row["active"], row["saved"], row["passivated"]) == \
        ("Valve", 0, 6, 6)
    assert summary["activations_total"] == 6 and summary["passivations_total"] == 6
    reminders = fetch(f"{info.dashboard_url}/api/virtual/reminders")
    assert [(r["key"], r["name"], r["period"]) for r in reminders] == [("v0", "service", 86400)]
    assert fetch(f"{info.dashboard_url}/api/virtual/reminders?type=Nothing") == []

    executable = _browser_or_skip()
    from playwright.sync_api import expect, sync_playwright

    class Tap(Valve._cls):
        pass
    taps = actorium.virtual(type_name="Tap", idle_timeout=60)(Tap)
    actorium.get([taps.get(f"t{i}").open.remote(5) for i in (1, 2)])
    ARTIFACTS.mkdir(exist_ok=True)
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable,
                                             args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.goto(f"{info.dashboard_url}/#virtual")
            types = page.locator("#virtual-types")
            expect(types).to_contain_text("Valve", timeout=15_000)
            tap = types.locator("tr", has_text="Tap")
            expect(tap.locator("td").nth(1)).to_have_text("2", timeout=15_000)   # active
            valve = types.locator("tr", has_text="Valve")
            expect(valve.locator("td").nth(2)).to_have_text("6")                # passivated
            expect(page.locator("#virtual-reminders")).to_contain_text("service")
            expect(page.locator("#virtual-nodes tr")).to_have_count(2)
            page.screenshot(path=str(ARTIFACTS / "dashboard-virtual.png"), full_page=True)
        finally:
            browser.close()
    assert not problems, problems
