"""Utilities beyond the core API, under Ray's names (``actorium.util.state`` ...)."""

from actorium.util import state

__all__ = ["state"]
