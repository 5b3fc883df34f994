"""benchmarks/twins.py runs at smoke scale and reports every row (real mosquitto, sqlite)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from twins.mqtt_helpers import require_mosquitto

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(300)
def test_the_twin_benchmarks_run_at_smoke_scale(tmp_path):
    require_mosquitto()
    out = tmp_path / "twins.json"
    done = subprocess.run([sys.executable, "-m", "benchmarks.twins", "--scale", "smoke",
                           "--postgres", "none", "--json", str(out)], cwd=REPO,
                          capture_output=True, text=True, timeout=280)
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads(out.read_text())["results"]
    assert results["mqtt_reports"]["reports_per_s"] > 0
    assert results["mqtt_reports"]["rejected"] == 0
    assert 0 < results["mqtt_reports"]["p50_ms"] <= results["mqtt_reports"]["p99_ms"]
    assert results["fleet_query_sqlite"]["range_count_matches"] > 0
    assert results["fleet_query_postgres"] == {"skipped": "no PostgreSQL (use --postgres URL)"}
    assert results["watch_fanout"]["deliveries_per_s"] > 0
    assert results["twin_memory"]["bytes_per_active_twin"] > 0
