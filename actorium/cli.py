"""The ``actorium`` command line."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="actorium",
                                     description="asyncio-native actors with Ray Core's model")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    options = parser.parse_args(argv)
    if options.version:
        from actorium import __version__
        print(__version__)
        return 0
    parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
