"""Options of a virtual actor type, validated once when the class is declared."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

STATE_FORMATS = ("pickle", "json")


@dataclasses.dataclass(frozen=True)
class VirtualOptions:
    """How a virtual actor type behaves (``@actorium.virtual(...)`` takes these as keywords).

    * ``type_name``: the type's name in the directory and the state store; keys are unique per
      type across the cluster. Default: the class's ``__qualname__``.
    * ``idle_timeout``: seconds without a call after which an activation is passivated (its
      state saved, then removed); default 60.
    * ``max_concurrency``: calls one activation runs at once. 1 (the default) is turn-based:
      a call runs to its end, awaits included, before the next starts, as in Orleans and Dapr.
    * ``state_format``: how ``self.state`` is written to the store: ``"pickle"`` (any
      picklable value, the default) or ``"json"`` (dicts, lists, strings, numbers; readable by
      other programs and queryable in PostgreSQL).
    """

    type_name: str | None = None
    idle_timeout: float = 60.0
    max_concurrency: int = 1
    state_format: str = "pickle"

    @classmethod
    def build(cls, **options: Any) -> VirtualOptions:
        """Check every option; TypeError for an unknown one, ValueError for a bad value."""
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise TypeError(f"unknown virtual actor option(s): {', '.join(unknown)}; the options "
                            f"are {', '.join(sorted(known))}")
        built = cls(**options)
        name = built.type_name
        if name is not None and (not isinstance(name, str) or not name or "\x00" in name):
            raise ValueError(f"type_name must be a non-empty string, got {name!r}")
        timeout = built.idle_timeout
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or \
                not math.isfinite(timeout) or timeout <= 0:
            raise ValueError(f"idle_timeout must be a positive number of seconds, got "
                             f"{timeout!r}")
        concurrency = built.max_concurrency
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise ValueError(f"max_concurrency must be a positive int, got {concurrency!r}")
        if built.state_format not in STATE_FORMATS:
            raise ValueError(f"state_format must be one of {', '.join(STATE_FORMATS)}, got "
                             f"{built.state_format!r}")
        return built

    def to_wire(self) -> dict[str, Any]:
        return {"idle_timeout": float(self.idle_timeout), "max_concurrency": self.max_concurrency,
                "state_format": self.state_format}
