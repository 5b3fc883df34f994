"""The ``actorium`` command line."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["memory"]:  # `actorium memory`: the objects in the object store
        from actorium._store.cli import main as memory_main
        return memory_main(args[1:])
    parser = argparse.ArgumentParser(prog="actorium",
                                     description="asyncio-native actors with Ray Core's model")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    parser.epilog = "commands: memory (list the objects in a running session's store)"
    options = parser.parse_args(args)
    if options.version:
        from actorium import __version__
        print(__version__)
        return 0
    parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
