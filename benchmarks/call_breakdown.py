"""Where the time of one blocking actor call goes, step by step, in microseconds.

    python -m benchmarks.call_breakdown [--calls N] [--transport streams|zmq|both]

Runs ``get(actor.f.remote())`` one call at a time and takes a timestamp at each hop, on the
machine-wide monotonic clock (``time.monotonic_ns``: the same clock in every process of this
machine, so hops between processes subtract): the caller's send, the worker's loop handing the
message over, the method's first and last line (on the worker's pool thread), the worker's
send of the result, the caller's loop handing it over, and ``get`` returning. The hooks are
wrappers put on one runtime's outbox and inbox objects by this script (in the worker, by the
actor itself); the product has no tracing code. Prints the median of each step and of the
whole call. ``zmq`` runs with ``ACTORIUM_LOCAL_STREAMS=0`` (every message through libzmq's
I/O threads), ``loop`` with ``ACTORIUM_LEADER_READS=0`` (streams, but the caller's loop reads
the reply and wakes the blocked thread, as before leader reads), ``both`` runs streams and
ZeroMQ, ``all`` the three, in fresh processes one after the other. With leader reads, the
caller's "loop hands the result over" is the blocked thread itself having read it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from typing import Any

# (A send's end is not a hop: the receiver often has the message before the sending thread
# runs again after its write.)
STEPS = (
    ("caller: .remote() (serialize, frame) until the send starts", "start", "sent"),
    ("caller send -> worker loop hands the call over (sign, transport, wake-up, auth)",
     "sent", "w_recv"),
    ("worker: loop to the method's first line (decode, order, pool thread wake-up)", "w_recv",
     "w_start"),
    ("worker: the method itself", "w_start", "w_end"),
    ("worker: result packed until its send starts", "w_end", "w_sent"),
    ("worker send -> caller has read the result (sign, transport, wake-up, auth)",
     "w_sent", "c_recv"),
    ("caller: result read until get() returns (fill, hand-off to the blocked thread if the "
     "loop read it, deserialize)", "c_recv", "end"),
)

ACTOR_CALL, TASK_RESULT = 23, 12


def _kind(frames: Any) -> int:
    from actorium._transport.protocol import unpack
    return int(unpack(frames[0])[0])


def _hook(runtime: Any, sends: dict[int, list[int]], receives: dict[int, list[int]]) -> None:
    """Record the time of each message of the kinds in ``sends``/``receives``."""
    clock = time.monotonic_ns
    send, receive = runtime.outbox.send, runtime.inbox._on_message

    def traced_send(address: str, frames: Any) -> None:
        kind = _kind(frames)
        if kind in sends:
            sends[kind].append(clock())
        send(address, frames)

    def traced_receive(frames: Any) -> None:
        kind = _kind(frames)
        if kind in receives:
            receives[kind].append(clock())
        receive(frames)

    runtime.outbox.send = traced_send
    runtime.inbox._on_message = traced_receive
    off_loop = runtime.inbox.off_loop
    if off_loop is not None:
        # A thread blocked in get() that read the message itself: counted if it handled it
        # (else the loop does, through traced_receive).
        def traced_off_loop(frames: Any) -> bool:
            now = clock()
            handled: bool = off_loop(frames)
            kind = _kind(frames)
            if handled and kind in receives:
                receives[kind].append(now)
            return handled

        runtime.inbox.off_loop = traced_off_loop


def child(calls: int) -> dict[str, float]:
    import actorium
    from actorium._core import context

    @actorium.remote
    class Traced:
        def __init__(self) -> None:
            self.sends: dict[int, list[int]] = {TASK_RESULT: []}
            self.receives: dict[int, list[int]] = {ACTOR_CALL: []}
            self.spans: list[tuple[int, int]] = []

        def install(self) -> None:
            _hook(context.current_runtime(), self.sends, self.receives)

        def f(self) -> None:
            start = time.monotonic_ns()
            self.spans.append((start, time.monotonic_ns()))

        def times(self) -> tuple[Any, ...]:
            return self.sends, self.receives, self.spans

    actorium.init(num_cpus=2)
    try:
        actor = Traced.remote()
        actorium.get(actor.install.remote())
        for _ in range(200):   # warm up
            actorium.get(actor.f.remote())
        runtime = context.current_runtime()
        sends: dict[int, list[int]] = {ACTOR_CALL: []}
        receives: dict[int, list[int]] = {TASK_RESULT: []}
        _hook(runtime, sends, receives)
        starts, ends = [], []
        clock = time.monotonic_ns
        for _ in range(calls):
            starts.append(clock())
            actorium.get(actor.f.remote())
            ends.append(clock())
        runtime.outbox.send = type(runtime.outbox).send.__get__(runtime.outbox)
        w_sends, w_receives, spans = actorium.get(actor.times.remote())
    finally:
        actorium.shutdown()
    # The worker recorded the 200 warm-up calls before ours (and the result of install()).
    skip = 200
    columns = {
        "start": starts, "sent": sends[ACTOR_CALL],
        "w_recv": w_receives[ACTOR_CALL][skip:][:calls],
        "w_start": [s for s, _e in spans[skip:][:calls]],
        "w_end": [e for _s, e in spans[skip:][:calls]],
        "w_sent": w_sends[TASK_RESULT][skip + 1:][:calls],
        "c_recv": receives[TASK_RESULT][:calls], "end": ends,
    }
    lengths = {name: len(values) for name, values in columns.items()}
    if len(set(lengths.values())) != 1:
        raise RuntimeError(f"hooks saw different numbers of messages: {lengths}")
    order = [name for _label, name, _last in STEPS] + ["end"]
    for index in range(calls):
        stamps = [columns[name][index] for name in order]
        if stamps != sorted(stamps):
            raise RuntimeError(f"call {index}: the hooks' times are out of order: {stamps}")
    result = {}
    for label, first, last in STEPS:
        result[label] = statistics.median(
            (b - a) / 1000 for a, b in zip(columns[first], columns[last], strict=True))
    result["whole call (median)"] = statistics.median(
        (b - a) / 1000 for a, b in zip(starts, ends, strict=True))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--transport", default="both",
                        choices=("streams", "loop", "zmq", "both", "all"))
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        for label, value in child(args.calls).items():
            print(f"{value:.1f}\t{label}")
        return 0
    transports = {"both": ("streams", "zmq"), "all": ("streams", "loop", "zmq")}.get(
        args.transport, (args.transport,))
    runs = {}
    for transport in transports:
        env = dict(os.environ, ACTORIUM_LOCAL_STREAMS="0" if transport == "zmq" else "1",
                   ACTORIUM_LEADER_READS="0" if transport == "loop" else "1")
        out = subprocess.run([sys.executable, "-m", "benchmarks.call_breakdown", "--child",
                              "--calls", str(args.calls)], env=env, check=True,
                             capture_output=True, text=True).stdout
        runs[transport] = [line.split("\t", 1) for line in out.strip().splitlines()]
    print(f"load average {os.getloadavg()[0]:.1f}; median µs of {args.calls} calls")
    print("| step | " + " | ".join(transports) + " |")
    print("|---|" + "---:|" * len(transports))
    for index, (_value, label) in enumerate(runs[transports[0]]):
        print(f"| {label} | " + " | ".join(runs[t][index][0] for t in transports) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
