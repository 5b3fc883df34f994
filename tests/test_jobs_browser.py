"""The Jobs page in a real browser: the list, a job's live log, and Stop.

Headless Debian Chromium through playwright, as tests/test_dashboard_browser.py; CI sets
``ACTORIUM_REQUIRE_BROWSER=1`` so that a missing browser fails there instead of skipping.
Screenshots go to ``tests/artifacts/``.
"""

from __future__ import annotations

import pathlib
import re
import sys
import textwrap

import pytest
from cluster_helpers import local_cluster
from polling import eventually
from test_dashboard_browser import ARTIFACTS, _browser_or_skip

from actorium.job_submission import JobStatus, JobSubmissionClient

pytestmark = [pytest.mark.multiprocess, pytest.mark.timeout(180)]

TICKER = """
    import os, time
    print("tick 1", flush=True)
    while not os.path.exists({gate!r}):
        time.sleep(0.05)
    print("tick 2 after the gate", flush=True)
    time.sleep(600)
"""


def test_the_jobs_page_lists_jobs_follows_a_log_and_stops_a_job(no_runtime, tmp_path):
    executable = _browser_or_skip()
    from playwright.sync_api import expect, sync_playwright

    gate = tmp_path / "gate"
    script = tmp_path / "ticker.py"
    script.write_text(textwrap.dedent(TICKER.format(gate=str(gate))))
    with local_cluster(str(tmp_path / "cluster"), [{"num_cpus": 1}]) as cluster:
        found = re.search(r"Dashboard: (http://\S+)/\?token=(\w+)", cluster["outputs"][0])
        assert found, cluster["outputs"][0]
        url, token = found.groups()
        client = JobSubmissionClient()
        finished = client.submit_job(entrypoint="echo all done")
        eventually(lambda: client.get_job_status(finished).is_terminal(), timeout=60)
        running = client.submit_job(entrypoint=f"{sys.executable} {script}",
                                    metadata={"purpose": "browser test"})
        ARTIFACTS.mkdir(exist_ok=True)
        problems: list[str] = []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable,
                                                 args=["--no-sandbox", "--disable-gpu"])
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 800})
                page.on("console",
                        lambda m: problems.append(m.text) if m.type == "error" else None)
                page.on("pageerror", lambda e: problems.append(str(e)))
                # Without the token the page asks for it rather than showing anything.
                page.goto(f"{url}/#jobs")
                expect(page.locator("#page")).to_contain_text("needs the cluster token",
                                                              timeout=15_000)
                page.goto(f"{url}/?token={token}#jobs")
                expect(page.locator(f'tr[data-job="{finished}"]')).to_contain_text(
                    "SUCCEEDED", timeout=15_000)
                row = page.locator(f'tr[data-job="{running}"]')
                expect(row).to_contain_text("RUNNING", timeout=30_000)
                page.screenshot(path=str(ARTIFACTS / "dashboard-jobs.png"), full_page=True)

                row.locator("a").click()
                log = page.locator("#job-log")
                expect(log).to_contain_text("tick 1", timeout=30_000)
                assert "tick 2" not in log.inner_text()
                gate.touch()   # the job goes on; its log grows on the page by itself
                expect(log).to_contain_text("tick 2 after the gate", timeout=30_000)
                page.screenshot(path=str(ARTIFACTS / "dashboard-job.png"), full_page=True)

                page.locator(f'[data-stop="{running}"]').click()
                expect(page.locator("#job-status")).to_contain_text("STOPPED", timeout=30_000)
                page.screenshot(path=str(ARTIFACTS / "dashboard-job-stopped.png"),
                                full_page=True)
            finally:
                browser.close()
        assert client.get_job_status(running) is JobStatus.STOPPED
        # Some browser consoles report the refused, token-less first requests as errors.
        assert not [p for p in problems if "401" not in p], problems
    assert not any(pathlib.Path(tmp_path / "cluster").glob("nodes/*.json"))
