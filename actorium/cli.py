"""The ``actorium`` command line: a dispatcher over the subcommands in ``actorium/_cli/``.

Each subcommand module registers its parser(s) and names the function that runs it; adding a
command is one module and one line in ``_COMMANDS``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from actorium._cli import job, start, status, stop
from actorium._store import cli as memory
from actorium._twins.edge import cli as edge


def _register(subparsers: argparse._SubParsersAction) -> dict[str, Callable[..., int]]:  # type: ignore[type-arg]
    start.add_parser(subparsers)
    stop.add_parser(subparsers)
    status.add_parsers(subparsers)
    memory.add_parser(subparsers)
    job.add_parser(subparsers)
    edge.add_parser(subparsers)
    return {"start": start.run, "stop": stop.run, "status": status.run_status,
            "list": status.run_list, "memory": memory.run, "job": job.run,
            "edge": edge.run}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="actorium",
                                     description="asyncio-native actors with Ray Core's model")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    subparsers = parser.add_subparsers(dest="command")
    commands = _register(subparsers)
    options = parser.parse_args(argv)
    if options.version:
        from actorium import __version__
        print(__version__)
        return 0
    if options.command is None:
        parser.print_help()
        return 0
    return commands[options.command](options)


if __name__ == "__main__":
    sys.exit(main())
