"""Run the benchmark rows for one backend and print a table.

    python -m benchmarks.run [--backend actorium|ray] [--scale full|smoke]
                             [--rows PATTERN] [--json FILE] [--python PATH]

Each row runs in its own fresh subprocess (see :mod:`benchmarks.runner`); a row that
fails or times out is shown as ERROR and the suite carries on. Exit status is 1 if any
row failed.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from benchmarks import backends, report, runner
from benchmarks.rows import select
from benchmarks.scale import SCALES


def run(backend: str, scale: str, pattern: str | None, python: str | None,
        timeout: float | None, quiet: bool = False) -> list[dict[str, Any]]:
    """Run the selected rows one after another; return their results."""
    results = []
    row_timeout = timeout or SCALES[scale].row_timeout
    for row in select(pattern):
        if not quiet:
            print(f"[{backend}] {row.name} ...", file=sys.stderr, flush=True)
        res = runner.run_row(row.name, backend, scale, python=python, timeout=row_timeout)
        if not quiet and not res.get("ok"):
            print(f"[{backend}] {row.name} failed: {res.get('error')}\n{res.get('log_tail', '')}",
                  file=sys.stderr, flush=True)
        results.append(res)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", default="actorium", choices=backends.BACKENDS)
    parser.add_argument("--scale", default="full", choices=sorted(SCALES))
    parser.add_argument("--rows", default=None, help="comma-separated globs or substrings")
    parser.add_argument("--json", default=None, metavar="FILE", help="also write results here")
    parser.add_argument("--python", default=None, metavar="PATH",
                        help="interpreter for the row subprocesses (default: this one)")
    parser.add_argument("--timeout", type=float, default=None, help="seconds per row")
    args = parser.parse_args(argv)

    results = run(args.backend, args.scale, args.rows, args.python, args.timeout)
    print(report.results_table(results))
    if args.json:
        info = report.machine_info() | {"backend": args.backend, "scale": args.scale}
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"machine": info, "results": results}, fh, indent=2)
    return 0 if all(r.get("ok") for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
