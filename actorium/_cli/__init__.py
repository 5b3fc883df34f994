"""Subcommands of the ``actorium`` command line, one module each (``add_parser`` + ``run``)."""
