"""Run exactly one row in this (fresh) process and write its result as JSON.

Started by :mod:`benchmarks.runner` as ``python -m benchmarks.worker --backend B --row R
--scale S --out FILE``. Imports the backend (timed, reported as ``import_s``), calls
``init`` unless the row manages the runtime itself, runs the row, and always shuts down.
The result goes to ``--out`` rather than stdout, which runtimes tend to write logs to.
"""

from __future__ import annotations

import argparse
import json
import time
import traceback
from typing import Any

from benchmarks import backends
from benchmarks.rows import get_row
from benchmarks.scale import SCALES


def run_row(backend_name: str, row_name: str, scale_name: str) -> dict[str, Any]:
    """Run one row in-process; return a JSON-able result (``ok``, ``metrics`` or ``error``)."""
    row, scale = get_row(row_name), SCALES[scale_name]
    result: dict[str, Any] = {"row": row_name, "backend": backend_name, "scale": scale_name}
    start = time.perf_counter()
    backend = backends.load(backend_name)
    result["import_s"] = time.perf_counter() - start
    result["version"] = backends.version(backend)
    started = False
    try:
        if not row.manages_runtime:
            backend.init(**backends.init_kwargs(backend_name))
            started = True
        metrics = row.fn(backend, scale)
        result["metrics"] = {name: m.to_dict() for name, m in metrics.items()}
        result["ok"] = True
    except Exception as exc:  # any failure becomes a reported row error
        result["ok"] = False
        result["error"] = f"{type(exc).__name__}: {exc}"
        result["traceback"] = traceback.format_exc()
    finally:
        if started:
            try:
                backend.shutdown()
            except Exception as exc:
                if result.get("ok"):
                    result["ok"] = False
                    result["error"] = f"shutdown failed: {type(exc).__name__}: {exc}"
    result["wall_s"] = time.perf_counter() - start
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", required=True, choices=backends.BACKENDS)
    parser.add_argument("--row", required=True)
    parser.add_argument("--scale", default="full", choices=sorted(SCALES))
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    result = run_row(args.backend, args.row, args.scale)
    with open(args.out, "w", encoding="utf-8") as fh:
        json.dump(result, fh)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
