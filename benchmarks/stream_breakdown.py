"""Where the time of one streamed item goes, step by step, in microseconds.

    python -m benchmarks.stream_breakdown [--items N] [--pause SECONDS]

An actor's generator yields ``N`` items one at a time (pausing between them, so each travels
alone, as in the ``stream_item_latency`` row) and the driver reads them with
``for ref in gen: get(ref)``. Timestamps on the machine-wide monotonic clock
(``time.monotonic_ns``: the same clock in every process of this machine) at each hop: the
``yield`` (the item is the stamp), the producer's send of GENERATOR_ITEM (packing done), the
consumer reading it, ``next(gen)`` returning in the driver's thread, and
``get`` returning. The item reaches the consumer through its inbox (read by the driver's
loop) or its inlet (read by the thread blocked in ``next``; see ``_transport/datagrams.py``),
and the hooks time both. The hooks are wrappers put on the two runtimes' outbox and inbox by this
script (in the worker, by the actor itself); the product has no tracing code. Prints the
median and p99 of each step and of the whole item.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Any

GENERATOR_ITEM = 16

STEPS = (
    ("producer: yield -> item packed, its send starts", "yield", "sent"),
    ("producer send starts -> the consumer has read it (sign, transport, wake-up)", "sent",
     "recv"),
    ("consumer: auth, decode, file the item -> next() returns in the reading thread", "recv",
     "next"),
    ("consumer: get(ref) (deserialize)", "next", "got"),
)


def _hook(runtime: Any, sends: list[int] | None, receives: list[int] | None) -> None:
    """Record the time of each GENERATOR_ITEM this runtime sends (through the inbox or the
    consumer's inlet) or receives (on its loop, or read from an inlet by the reading thread)."""
    from actorium._transport import datagrams
    from actorium._transport.protocol import unpack

    def kind_of(frames: Any) -> int:
        return int(unpack(frames[0])[0])

    clock = time.monotonic_ns
    if sends is not None:
        send, outlet_send = runtime.outbox.send, datagrams.Outlet.send

        def traced_send(address: str, frames: Any) -> None:
            if kind_of(frames) == GENERATOR_ITEM:
                sends.append(clock())
            send(address, frames)

        def traced_outlet_send(outlet: Any, path: str, data: bytes) -> Any:
            sends.append(clock())
            sent = outlet_send(outlet, path, data)
            if sent is not datagrams.Sent.SENT:
                sends.pop()   # it goes through the inbox: traced_send counts it
            return sent

        runtime.outbox.send = traced_send
        datagrams.Outlet.send = traced_outlet_send  # type: ignore[method-assign]
    if receives is not None:
        receive, file_datagram = runtime.inbox._on_message, runtime.file_datagram

        def traced_receive(frames: Any) -> None:
            if kind_of(frames) == GENERATOR_ITEM:
                receives.append(clock())
            receive(frames)

        def traced_file_datagram(datagram: bytes) -> None:
            receives.append(clock())
            file_datagram(datagram)

        runtime.inbox._on_message = traced_receive
        runtime.file_datagram = traced_file_datagram


def measure(items: int, pause: float) -> dict[str, tuple[float, float]]:
    import actorium
    from actorium._core import context

    @actorium.remote
    class Traced:
        def __init__(self) -> None:
            self.sends: list[int] = []

        def install(self) -> None:
            _hook(context.current_runtime(), self.sends, None)

        def stamps(self, n: int, pause: float) -> Any:
            for _ in range(n):
                time.sleep(pause)
                yield time.monotonic_ns()

        def sent(self) -> list[int]:
            return self.sends

    actorium.init(num_cpus=2)
    try:
        actor = Traced.remote()
        actorium.get(actor.install.remote())
        receives: list[int] = []
        _hook(context.current_runtime(), None, receives)
        warmup = max(items // 10, 10)
        columns: dict[str, list[int]] = {"yield": [], "next": [], "got": []}
        clock = time.monotonic_ns
        gen = actor.stamps.remote(warmup + items, pause)
        while True:
            try:
                ref = next(gen)
            except StopIteration:
                break
            seen = clock()
            stamp = actorium.get(ref)
            columns["yield"].append(stamp)
            columns["next"].append(seen)
            columns["got"].append(clock())
        columns["sent"] = actorium.get(actor.sent.remote())
        columns["recv"] = receives
    finally:
        actorium.shutdown()
    lengths = {name: len(values) for name, values in columns.items()}
    if len(set(lengths.values())) != 1:
        raise RuntimeError(f"hooks saw different numbers of items: {lengths}")
    for name in columns:
        columns[name] = columns[name][warmup:]
    result = {}
    for label, first, last in STEPS:
        result[label] = _stats([(b - a) / 1000 for a, b in
                                zip(columns[first], columns[last], strict=True)])
    result["whole item: yield -> get() returns"] = _stats(
        [(b - a) / 1000 for a, b in zip(columns["yield"], columns["got"], strict=True)])
    return result


def _stats(values: list[float]) -> tuple[float, float]:
    values.sort()
    return statistics.median(values), values[min(len(values) - 1, int(len(values) * 0.99))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--pause", type=float, default=0.001)
    args = parser.parse_args(argv)
    result = measure(args.items, args.pause)
    print(f"load average {os.getloadavg()[0]:.1f}; µs over {args.items} items "
          f"(pause {args.pause * 1000:g} ms)")
    print("| step | p50 | p99 |")
    print("|---|---:|---:|")
    for label, (p50, p99) in result.items():
        print(f"| {label} | {p50:.1f} | {p99:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
