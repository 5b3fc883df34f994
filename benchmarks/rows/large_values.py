"""Large ``bytes``, ``str`` and ``bytearray`` passed by value to an actor method and returned
from one, by size.

``bytes`` is what files, network payloads and serialized models are, ``str`` what documents
and JSON are, ``bytearray`` what a buffer being filled is: a user passes them straight to
``.remote()`` without ``put``. These rows show whether such a value is copied through the
pickler (slow, and twice the memory) or moved as a buffer.
"""

from __future__ import annotations

import statistics
import time
from types import ModuleType

from benchmarks.metrics import Metric, Metrics, size_label
from benchmarks.scale import Scale


class Sink:
    """Receives bytes (returns their length) and hands out a blob of a chosen size."""

    def __init__(self) -> None:
        self.blob = b""

    def ping(self) -> int:
        return 0

    def length(self, data: bytes) -> int:
        return len(data)

    def keep(self, size: int, kind: str = "bytes") -> int:
        self.blob = _value(size, kind)
        return len(self.blob)

    def give(self) -> bytes | str | bytearray:
        return self.blob


def _value(size: int, kind: str) -> bytes | str | bytearray:
    if kind == "str":
        return _text(size)
    data = bytes(range(256)) * (size // 256)
    return bytearray(data) if kind == "bytearray" else data


def _text(size: int) -> str:
    """``size`` characters of mostly-ASCII text (with a few two-byte ones, like real text)."""
    return ("abcdefghijklmnopqrstuvwxyz0123456789 \u00e9t\u00e9\n" * (size // 40 + 1))[:size]


def _median_seconds(fn: object, rounds: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def bytes_by_size(backend: ModuleType, scale: Scale) -> Metrics:
    """GiB/s of ``bytes`` from 1 MiB to 1 GiB (``scale.bytes_sizes``) passed by value to an
    actor method (``get(a.length.remote(data))``) and returned by one (``get(a.give.remote())``).

    Each figure is the median of a few blocking round trips (size / time): serialization,
    transport or store, and deserialization, with the result checked.
    """
    return _by_size(backend, scale, "bytes")


def str_by_size(backend: ModuleType, scale: Scale) -> Metrics:
    """The same as ``bytes_by_size`` for a ``str`` of as many characters (GiB of characters
    per second): encoded, moved and decoded."""
    return _by_size(backend, scale, "str")


def bytearray_by_size(backend: ModuleType, scale: Scale) -> Metrics:
    """The same as ``bytes_by_size`` for a ``bytearray`` (Ray hands a returned one back as
    ``bytes``, actorium as a ``bytearray``; only the length is checked)."""
    return _by_size(backend, scale, "bytearray")


def _by_size(backend: ModuleType, scale: Scale, kind: str) -> Metrics:
    get = backend.get
    sink = backend.remote(Sink).remote()
    get(sink.ping.remote())
    metrics: Metrics = {}
    for size in scale.bytes_sizes:
        label = size_label(size)
        data = _value(size, kind)
        rounds = max(3, min(scale.large_ops, (256 * 2**20) // size))

        def send(data: bytes | str | bytearray = data, size: int = size) -> None:
            if get(sink.length.remote(data)) != size:
                raise AssertionError(f"the actor got the wrong length of a {size}-byte argument")

        send()
        median, samples = _median_seconds(send, rounds)
        metrics[f"arg_{label}_GiBps"] = Metric(size / median / 2**30, "GiB/s", "higher",
                                               [size / s / 2**30 for s in samples])
        get(sink.keep.remote(size, kind))

        def receive(size: int = size) -> None:
            if len(get(sink.give.remote())) != size:
                raise AssertionError(f"the actor returned the wrong length of a {size}-byte blob")

        receive()
        median, samples = _median_seconds(receive, rounds)
        metrics[f"return_{label}_GiBps"] = Metric(size / median / 2**30, "GiB/s", "higher",
                                                  [size / s / 2**30 for s in samples])
        get(sink.keep.remote(0))
        del data
    return metrics
