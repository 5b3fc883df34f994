"""The dashboard in a real browser: headless Chromium loads every page and kills an actor.

Screenshots of each page are written to ``tests/artifacts/`` for people to review. Needs
Debian's ``chromium`` and the ``playwright`` package; CI installs both and sets
``ACTORIUM_REQUIRE_BROWSER=1`` so that a missing browser fails there instead of skipping.
"""

from __future__ import annotations

import os
import pathlib
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

import actorium

pytestmark = pytest.mark.timeout(180)

ARTIFACTS = pathlib.Path(__file__).parent / "artifacts"
PAGES = ("overview", "actors", "tasks", "objects", "logs", "timeline")


def _browser_or_skip() -> str:
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        executable = None
    if executable is None:
        reason = "needs Debian's chromium and the playwright package"
        if os.environ.get("ACTORIUM_REQUIRE_BROWSER") == "1":
            pytest.fail(f"browser test required but unavailable: {reason}")
        pytest.skip(reason)
    return executable


@contextmanager
def browser_page(executable: str) -> Iterator[tuple[Any, list[str]]]:
    """A page of headless Chromium, and the console errors and page errors it reports."""
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable,
                                             args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            yield page, problems
        finally:
            browser.close()


@actorium.remote
class Sensor:
    def __init__(self, name):
        self.name = name

    def read(self):
        print(f"{self.name} reading 21.5")
        return 21.5


@actorium.remote
def broken():
    raise RuntimeError("sensor offline")


def test_every_page_renders_and_kill_changes_the_actor_state(start_runtime):
    executable = _browser_or_skip()
    from playwright.sync_api import expect

    info = start_runtime()
    sensors = [Sensor.options(name=f"sensor-{i}").remote(f"sensor-{i}") for i in range(4)]
    actorium.get([s.read.remote() for s in sensors])
    with pytest.raises(RuntimeError):
        actorium.get(broken.remote())
    kept = actorium.put(b"x" * 300_000)
    victim = sensors[0]._actor_id.hex()
    ARTIFACTS.mkdir(exist_ok=True)
    with browser_page(executable) as (page, problems):
        page.goto(f"{info.dashboard_url}/?token={info['dashboard_token']}#overview")
        expect(page.locator("#live")).to_have_class("live on", timeout=15_000)
        assert "token=" not in page.url   # the token does not linger in the address bar
        expect(page.locator(".card").first).to_be_visible()
        expected_text = {"overview": "Actor calls", "actors": "sensor-1",
                         "tasks": "sensor offline", "objects": "KiB",
                         "logs": "sensor-2 reading 21.5", "timeline": "actor_created"}
        for name in PAGES:
            page.goto(f"{info.dashboard_url}/#{name}")
            expect(page.locator("#page")).to_contain_text(expected_text[name],
                                                          timeout=15_000)
            page.screenshot(path=str(ARTIFACTS / f"dashboard-{name}.png"), full_page=True)

        page.goto(f"{info.dashboard_url}/#actor/{victim}")
        expect(page.locator("#page")).to_contain_text("sensor-0 reading 21.5",
                                                      timeout=15_000)
        page.screenshot(path=str(ARTIFACTS / "dashboard-actor.png"), full_page=True)

        page.goto(f"{info.dashboard_url}/#actors")
        row = page.locator(f'tr[data-actor="{victim}"]')
        expect(row).to_contain_text("ALIVE", timeout=15_000)
        row.locator(f'[data-kill="{victim}"]').click()
        expect(row).to_contain_text("DEAD", timeout=15_000)
        page.screenshot(path=str(ARTIFACTS / "dashboard-after-kill.png"), full_page=True)

    with pytest.raises(actorium.exceptions.ActorDiedError):
        # The row showed DEAD, so the node buried it and told this driver before the page did.
        actorium.get(sensors[0].read.remote(), timeout=20)
    assert actorium.get(sensors[1].read.remote()) == 21.5
    assert not problems, problems
    del kept
