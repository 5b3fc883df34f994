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
