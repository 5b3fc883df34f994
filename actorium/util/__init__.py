"""Ray-compatible helpers (``actorium.util``), importable as in Ray."""

from actorium.util import scheduling_strategies

__all__ = ["scheduling_strategies"]
