"""Ray's ``ray.runtime_context`` path: ``RuntimeContext`` and ``get_runtime_context``.

A thin public module over the facade, so ported imports keep working; nothing lives here.
"""

from actorium._api import get_runtime_context
from actorium._core.context import RuntimeContext

__all__ = ["RuntimeContext", "get_runtime_context"]
