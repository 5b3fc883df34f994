"""Application metrics: ``Counter``, ``Gauge`` and ``Histogram`` (Ray's ``ray.util.metrics``).

Create a metric anywhere (driver, task, actor, on any node) and record into it; the process
reports what it recorded to its node about once a second, and the node serves the merged
values on its Prometheus endpoint (``GET /metrics``, next to the ``actorium_*`` metrics), in
``util.state.list_app_metrics()`` and on the dashboard's Metrics page. Counters and histograms
are summed over the node's processes (what an exited process counted is kept); a gauge shows
the value set last by any process.

Names follow Prometheus (``[a-zA-Z_][a-zA-Z0-9_]*``; ``actorium_`` is reserved); a counter is
exposed as ``<name>_total``. Every record needs a value for each of the metric's
``tag_keys``, from its ``tags`` argument or from ``set_default_tags``. Recording never
blocks: it updates this process's totals under a lock (about a microsecond).

Differences from Ray, on purpose: an invalid name, an unknown tag key or a histogram whose
boundaries do not increase raises ``ValueError`` at once (Ray warns and drops the metric or
the tag), and a metric pickled into a task keeps its default tags.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any, Self

from actorium._observe.app_metrics import COUNTER, GAUGE, HISTOGRAM, process_metrics

__all__ = ["Counter", "Gauge", "Histogram", "Metric"]

_VALID_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


class Metric:
    """What the three kinds share: a name, a description, tag keys and default tags."""

    _kind = ""

    def __init__(self, name: str, description: str = "",
                 tag_keys: tuple[str, ...] | None = None) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError("a metric needs a non-empty name")
        if not _VALID_NAME.match(name):
            raise ValueError(f"invalid metric name {name!r}: use letters, digits and _ only, "
                             f"not starting with a digit (Prometheus names)")
        if name.startswith("actorium_"):
            raise ValueError(f"metric name {name!r}: the actorium_ prefix is reserved for the "
                             f"runtime's own metrics")
        if not isinstance(description, str):
            raise TypeError(f"description must be a str, got {type(description).__name__}")
        tag_keys = tag_keys if tag_keys is not None else ()
        if not isinstance(tag_keys, tuple):
            raise TypeError(f"tag_keys should be a tuple of str, got {type(tag_keys).__name__}")
        for key in tag_keys:
            if not isinstance(key, str) or not _VALID_NAME.match(key):
                raise TypeError(f"tag keys must be str label names, got {key!r}")
        if len(set(tag_keys)) != len(tag_keys):
            raise ValueError(f"tag_keys has a key twice: {tag_keys}")
        self._name = name
        self._description = description
        self._tag_keys: tuple[str, ...] = tag_keys
        self._default_tags: dict[str, str] = {}
        self._default_values: tuple[str, ...] | None = () if not tag_keys else None
        self._declare()

    def _declare(self) -> None:
        process_metrics().declare(self._name, self._kind, self._description, self._tag_keys)

    def set_default_tags(self, default_tags: dict[str, str]) -> Self:
        """Tags used by every record that does not give them; returns the metric itself.

        Raises ``ValueError`` for a key not in ``tag_keys``, ``TypeError`` for a non-str value.
        """
        if not isinstance(default_tags, dict):
            raise TypeError(f"default tags are a dict, got {type(default_tags).__name__}")
        self._check_tags(default_tags)
        self._default_tags = dict(default_tags)
        self._default_values = self._values_of(self._default_tags)
        return self

    def _values_of(self, tags: dict[str, str]) -> tuple[str, ...] | None:
        """The tag values in ``tag_keys`` order, or None if one is missing."""
        if any(key not in tags for key in self._tag_keys):
            return None
        return tuple(tags[key] for key in self._tag_keys)

    def _check_tags(self, tags: dict[str, str]) -> None:
        for key, value in tags.items():
            if key not in self._tag_keys:
                raise ValueError(f"Unrecognized tag key {key!r} for metric {self._name!r}; its "
                                 f"tag keys are {self._tag_keys}")
            if not isinstance(value, str):
                raise TypeError(f"Tag values must be str, got {type(value).__name__} for "
                                f"{key!r}")

    def _record(self, value: float, tags: dict[str, str] | None) -> None:
        values = self._default_values
        if tags:
            self._check_tags(tags)
            final = {**self._default_tags, **tags}
            values = self._values_of(final)
        else:
            final = self._default_tags
        if values is None:
            missing = [key for key in self._tag_keys if key not in final]
            raise ValueError(f"Missing value for tag key(s): {','.join(missing)} (metric "
                             f"{self._name!r})")
        process_metrics().record(self._name, values, value)

    @property
    def info(self) -> dict[str, Any]:
        """Name, description, tag keys and default tags."""
        return {"name": self._name, "description": self._description,
                "tag_keys": self._tag_keys, "default_tags": dict(self._default_tags)}

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self._arguments(), self._default_tags))

    def _arguments(self) -> tuple[Any, ...]:
        return (self._name, self._description, self._tag_keys)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._name!r}, tag_keys={self._tag_keys})"


def _rebuild(cls: type[Metric], arguments: tuple[Any, ...],
             default_tags: dict[str, str]) -> Metric:
    metric = cls(*arguments)
    if default_tags:
        metric.set_default_tags(default_tags)
    return metric


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{what} must be an int or float, got {type(value).__name__}")
    if math.isnan(value):
        raise ValueError(f"{what} must be a number, got NaN")
    return value


class Counter(Metric):
    """A count that only goes up (Prometheus ``counter``, exposed as ``<name>_total``)."""

    _kind = COUNTER

    def inc(self, value: float = 1, tags: dict[str, str] | None = None) -> None:
        """Add ``value`` (> 0, default 1); ``tags`` add to or override the default tags."""
        if _number(value, "value") <= 0:
            raise ValueError(f"value must be >0, got {value}")
        self._record(value, tags)


class Gauge(Metric):
    """A value that goes up and down (Prometheus ``gauge``): the last one set is kept."""

    _kind = GAUGE

    def set(self, value: float | None, tags: dict[str, str] | None = None) -> None:
        """Set the gauge to ``value``; ``None`` does nothing (as in Ray)."""
        if value is None:
            return
        self._record(_number(value, "value"), tags)


class Histogram(Metric):
    """A distribution over buckets (Prometheus ``histogram``), e.g. request latencies.

    ``boundaries`` are the buckets' upper bounds: positive and increasing (+Inf is added).
    """

    _kind = HISTOGRAM

    def __init__(self, name: str, description: str = "",
                 boundaries: Sequence[float] | None = None,
                 tag_keys: tuple[str, ...] | None = None) -> None:
        if not boundaries:
            raise ValueError("boundaries argument should be provided when using the "
                             "Histogram class, e.g. Histogram('name', boundaries=[1.0, 2.0])")
        bounds = [_number(bound, "a boundary") for bound in boundaries]
        for index, bound in enumerate(bounds):
            if bound <= 0:
                raise ValueError(f"Invalid boundaries argument at index {index}, {bounds}: "
                                 f"use positive values")
        if any(later <= earlier for earlier, later in zip(bounds, bounds[1:], strict=False)):
            raise ValueError(f"histogram boundaries must increase, got {bounds}")
        self.boundaries = bounds
        super().__init__(name, description, tag_keys)

    def _declare(self) -> None:
        process_metrics().declare(self._name, self._kind, self._description, self._tag_keys,
                                  self.boundaries)

    def observe(self, value: float, tags: dict[str, str] | None = None) -> None:
        """Count ``value`` in its bucket (and in the histogram's sum and count)."""
        self._record(_number(value, "value"), tags)

    @property
    def info(self) -> dict[str, Any]:
        return {**super().info, "boundaries": list(self.boundaries)}

    def _arguments(self) -> tuple[Any, ...]:
        return (self._name, self._description, self.boundaries, self._tag_keys)
