"""The command line both state-store benchmarks share (``benchmarks.virtual_actors``,
``benchmarks.twins``): choose a scale and rows, get a sqlite file or a fresh PostgreSQL
database per row, run them, print the figures and write them as JSON.

Rows whose name ends in ``_postgres`` are skipped, with a reason, when no PostgreSQL is found.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


class StoreUrls:
    """A new state store for each row: a sqlite file in a scratch directory, or a fresh
    database on the PostgreSQL server (``postgres()`` only when one was found)."""

    def __init__(self, scratch: str, pg_url: str | None) -> None:
        self._scratch = scratch
        self.pg_url = pg_url
        self._count = 0

    def sqlite(self) -> str:
        self._count += 1
        return f"sqlite:///{self._scratch}/store-{self._count}.sqlite3"

    def postgres(self) -> str:
        assert self.pg_url is not None
        sys.path.insert(0, str(REPO / "tests"))
        from pg_helpers import fresh_database
        return str(fresh_database(self.pg_url))


def postgres_choice(choice: str) -> tuple[str | None, Any]:
    """(URL or None, the server to stop or None) for ``--postgres``: 'none', a URL, or
    'auto' (start Debian's PostgreSQL if it is installed)."""
    if choice == "none":
        return None, None
    if choice != "auto":
        return choice, None
    sys.path.insert(0, str(REPO / "tests"))
    from pg_helpers import postgres_bin, postgres_server
    if postgres_bin() is None:
        return None, None
    server = postgres_server()
    return server.__enter__(), server


def fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 100 else f"{value:,.0f}"
    return str(value)


RowTable = Callable[[StoreUrls, dict[str, Any]], dict[str, Callable[[], dict[str, Any]]]]


def run(argv: list[str] | None, *, description: str, title: str, tag: str,
        scales: dict[str, dict[str, Any]], rows: RowTable) -> int:
    """Parse ``argv``, run the chosen ``rows(urls, scale)`` and report them."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--scale", default="full", choices=sorted(scales))
    parser.add_argument("--postgres", default="auto",
                        help="a PostgreSQL URL, 'auto' (start one) or 'none'")
    parser.add_argument("--rows", default="", help="comma-separated row names (default: all)")
    parser.add_argument("--json", default=None, metavar="FILE")
    options = parser.parse_args(argv)
    scale = scales[options.scale]
    scratch = tempfile.mkdtemp(prefix=f"actorium-bench-{tag}-")
    pg_url, server = postgres_choice(options.postgres)
    table = rows(StoreUrls(scratch, pg_url), scale)
    wanted = [r for r in options.rows.split(",") if r] or list(table)
    unknown = [r for r in wanted if r not in table]
    if unknown:
        parser.error(f"unknown rows {unknown}: choose from {sorted(table)}")
    results: dict[str, Any] = {}
    try:
        for name in wanted:
            if name.endswith("_postgres") and pg_url is None:
                results[name] = {"skipped": "no PostgreSQL (use --postgres URL)"}
                continue
            print(f"[{tag}] {name} ...", file=sys.stderr, flush=True)
            started = time.perf_counter()
            results[name] = table[name]() | {"seconds": time.perf_counter() - started}
    finally:
        if server is not None:
            server.__exit__(None, None, None)
        shutil.rmtree(scratch, ignore_errors=True)
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(f"{title}, scale {options.scale}, {stamp}, {os.cpu_count()} CPUs, "
          f"load {os.getloadavg()[0]:.1f}")
    width = max((len(name) for name in results), default=0) + 2
    for name, metrics in results.items():
        shown = ", ".join(f"{k}={fmt(v)}" for k, v in metrics.items())
        print(f"  {name:{width}s} {shown}")
    if options.json:
        with open(options.json, "w", encoding="utf-8") as file:
            json.dump({"when": stamp, "scale": options.scale, "results": results}, file, indent=2)
    return 0
