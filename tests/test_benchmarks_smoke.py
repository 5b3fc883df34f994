"""Every benchmark row runs once, at smoke scale, against actorium, and yields metrics.

Keeps the benchmark suite (benchmarks/) from rotting as actorium's runtime changes: each
row runs in its own subprocess exactly as ``python -m benchmarks.run --scale smoke`` does.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

# benchmarks/ is a top-level folder of the repo, not part of the installed package.
REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks import runner  # noqa: E402
from benchmarks.rows import ROWS  # noqa: E402

ROW_TIMEOUT = 30.0


@pytest.mark.timeout(60)
@pytest.mark.parametrize("row", [r.name for r in ROWS])
def test_row_runs_at_smoke_scale(row: str) -> None:
    result = runner.run_row(row, "actorium", "smoke", python=sys.executable, timeout=ROW_TIMEOUT)
    assert result.get("ok"), (
        f"{row} failed: {result.get('error')}\n{result.get('traceback', '')}"
        f"{result.get('log_tail', '')}"
    )
    metrics = result["metrics"]
    assert metrics, f"{row} returned no metrics"
    for name, metric in metrics.items():
        value = float(metric["value"])
        assert metric["unit"], f"{row}.{name} has no unit"
        assert math.isfinite(value), f"{row}.{name} = {value}"
        if metric["better"] is not None:  # compared figures must be real measurements
            assert value > 0, f"{row}.{name} = {value} {metric['unit']}"


@pytest.mark.timeout(120)
def test_the_call_breakdown_times_every_hop_of_a_call_over_both_transports() -> None:
    """``benchmarks.call_breakdown`` checks itself: every hook saw each call once, and each
    call's timestamps are in causal order; here it only has to finish and print each step."""
    import subprocess

    from benchmarks.call_breakdown import STEPS

    out = subprocess.run([sys.executable, "-m", "benchmarks.call_breakdown", "--calls", "50"],
                         cwd=REPO_ROOT, check=True, capture_output=True, text=True,
                         timeout=110).stdout
    rows = [line for line in out.splitlines() if line.startswith("| ") and "µs" not in line]
    steps = [line for line in rows if not line.startswith("| step")]
    assert len(steps) == len(STEPS) + 1, out   # and the whole call
    for line in steps:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        assert all(float(value) >= 0 for value in cells[1:]), line
