"""Compare actorium with Ray, row by row, on this machine, in one run.

    python -m benchmarks.compare --ray-python PATH [--actorium-python PATH]
                                 [--scale full|smoke] [--rows PATTERN]
                                 [--markdown FILE] [--json FILE]

For each row, the Ray row runs and then the actorium row, alternately, each in its own
fresh subprocess with its own interpreter (Ray lives in a separate venv: actorium never
depends on it). Prints both figures and the ratio, oriented so that > 1 means actorium is
better, with the date and the machine. ``--markdown FILE`` writes the table as Markdown
(for docs/performance.md) and the raw results as JSON beside it (``FILE`` with a ``.json``
suffix, unless ``--json`` names another file).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from benchmarks import report, runner
from benchmarks.rows import select
from benchmarks.scale import SCALES


def _version(results: list[dict[str, Any]]) -> str:
    return next((str(r["version"]) for r in results if r.get("version")), "?")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ray-python", required=True, metavar="PATH")
    parser.add_argument("--actorium-python", default=sys.executable, metavar="PATH")
    parser.add_argument("--scale", default="full", choices=sorted(SCALES))
    parser.add_argument("--rows", default=None, help="comma-separated globs or substrings")
    parser.add_argument("--timeout", type=float, default=None, help="seconds per row")
    parser.add_argument("--markdown", default=None, metavar="FILE")
    parser.add_argument("--json", default=None, metavar="FILE")
    args = parser.parse_args(argv)

    timeout = args.timeout or SCALES[args.scale].row_timeout
    interpreters = {"ray": args.ray_python, "actorium": args.actorium_python}
    pairs: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for row in select(args.rows):
        got: dict[str, dict[str, Any]] = {}
        for backend in ("ray", "actorium"):
            print(f"[{backend}] {row.name} ...", file=sys.stderr, flush=True)
            got[backend] = runner.run_row(row.name, backend, args.scale,
                                          python=interpreters[backend], timeout=timeout)
            if not got[backend].get("ok"):
                print(f"[{backend}] {row.name} failed: {got[backend].get('error')}",
                      file=sys.stderr, flush=True)
        pairs.append((got["ray"], got["actorium"]))

    info = report.machine_info() | {
        "scale": args.scale,
        "ray_version": _version([p[0] for p in pairs]),
        "actorium_version": _version([p[1] for p in pairs]),
    }
    print(f"{info['date']}  {info['cpu_model']}  {info['cores']} cores  "
          f"{info['memory_gib']:.1f} GiB  Ray {info['ray_version']}  "
          f"actorium {info['actorium_version']}  scale={args.scale}")
    print(report.comparison_table(pairs))

    json_path = args.json or (str(Path(args.markdown).with_suffix(".json")) if args.markdown
                              else None)
    if args.markdown:
        Path(args.markdown).write_text(report.comparison_markdown(pairs, info), encoding="utf-8")
    if json_path:
        payload = {"machine": info,
                   "rows": [{"row": r["row"], "ray": r, "actorium": a} for r, a in pairs]}
        Path(json_path).write_text(json.dumps(payload, indent=2), encoding="utf-8")
    return 0 if all(r.get("ok") and a.get("ok") for r, a in pairs) else 1


if __name__ == "__main__":
    raise SystemExit(main())
