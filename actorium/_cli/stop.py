"""``actorium stop``: stop every node daemon ``actorium start`` started on this machine."""

from __future__ import annotations

import argparse

from actorium._cluster.daemon import stop_daemons

NAME = "stop"


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    subparsers.add_parser(NAME, help="stop the head and nodes started on this machine")


def run(_options: argparse.Namespace) -> int:
    pids = stop_daemons()
    print(f"Stopped {len(pids)} actorium node process(es).")
    return 0
