"""``actorium memory``: print the objects in a running session's store.

Finds the session by its directory under ``/tmp/actorium-<uid>/`` (the newest one with a live
node socket, unless ``--session`` names one) and reads the store's files; it does not connect
to the runtime, so it works while the driver is busy.
"""

from __future__ import annotations

import argparse
import os
import tempfile

from actorium._store.summary import summarize


def _newest_session() -> str | None:
    root = os.path.join(tempfile.gettempdir(), f"actorium-{os.getuid()}")
    try:
        candidates = [os.path.join(root, name) for name in os.listdir(root)]
    except FileNotFoundError:
        return None
    live = [path for path in candidates if os.path.exists(os.path.join(path, "node.sock"))]
    return max(live, key=os.path.getmtime) if live else None


NAME = "memory"


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(NAME, help="list the objects in a session's object store")
    parser.add_argument("--session", help="the session directory (default: the newest running)")


def run(options: argparse.Namespace) -> int:
    session = options.session or _newest_session()
    if session is None or not os.path.isdir(session):
        print("no running actorium session found" if session is None
              else f"no session directory {session!r}")
        return 1
    print(f"session {session}")
    print(summarize(session))
    return 0
