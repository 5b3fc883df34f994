"""Ray-compatible helpers (``actorium.util``), importable as in Ray: ``util.state``,
``util.scheduling_strategies``."""

from actorium.util import scheduling_strategies, state

__all__ = ["scheduling_strategies", "state"]
