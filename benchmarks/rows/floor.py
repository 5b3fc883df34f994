"""The physical floor of a round trip on this machine, measured in the same run as the rows.

A blocking actor call is a round trip between two processes; nothing built on ZeroMQ or on
pipes can beat the raw round trip of the same channel between two bare Python processes.
The row measures that floor, so the call rows can be read as a multiple of it (and a change
of machine or load shows up here first). It does not use the backend at all: it starts its
own echo process (``python -c``) and needs only the standard library (and pyzmq for the
ZeroMQ figures, which the Ray venv does not have: there those figures are absent).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from types import ModuleType

from benchmarks.metrics import Metric, Metrics, percentile
from benchmarks.scale import Scale

# The echo side: reads a message and writes it back, until the channel closes.
_PIPE_ECHO = """
import os, sys
r, w = int(sys.argv[1]), int(sys.argv[2])
while True:
    data = os.read(r, 65536)
    if not data:
        break
    os.write(w, data)
"""

_ZMQ_ECHO = """
import sys, zmq
ctx = zmq.Context()
sock = ctx.socket(zmq.PAIR)
sock.connect(sys.argv[1])
while True:
    msg = sock.recv()
    if msg == b"stop":
        break
    sock.send(msg)
sock.close(0)
ctx.term()
"""

_UNIX_ECHO = """
import socket, sys
sock = socket.socket(fileno=int(sys.argv[1]))
while True:
    data = sock.recv(65536)
    if not data:
        break
    sock.sendall(data)
"""

_MESSAGE = b"x" * 64


def _p50_p99(round_trip: Callable[[], None], scale: Scale) -> tuple[float, float]:
    for _ in range(scale.latency_warmup):
        round_trip()
    samples = []
    for _ in range(scale.latency_samples):
        start = time.perf_counter()
        round_trip()
        samples.append((time.perf_counter() - start) * 1e6)
    samples.sort()
    return percentile(samples, 50), percentile(samples, 99)


def _pipe_floor(scale: Scale, same_cpu: bool) -> tuple[float, float]:
    to_child_r, to_child_w = os.pipe()
    to_parent_r, to_parent_w = os.pipe()
    child = subprocess.Popen(
        [sys.executable, "-c", _PIPE_ECHO, str(to_child_r), str(to_parent_w)],
        pass_fds=(to_child_r, to_parent_w))
    os.close(to_child_r)
    os.close(to_parent_w)
    mine = os.sched_getaffinity(0)
    try:
        if same_cpu:
            cpu = min(mine)
            os.sched_setaffinity(0, {cpu})
            os.sched_setaffinity(child.pid, {cpu})

        def round_trip() -> None:
            os.write(to_child_w, _MESSAGE)
            got = 0
            while got < len(_MESSAGE):
                got += len(os.read(to_parent_r, 65536))

        return _p50_p99(round_trip, scale)
    finally:
        os.sched_setaffinity(0, mine)
        os.close(to_child_w)  # the echo loop ends on end-of-file
        child.wait(timeout=10)
        os.close(to_parent_r)


def _unix_floor(scale: Scale) -> tuple[float, float]:
    """A unix stream socket (what a same-node call uses since the local streams)."""
    import socket

    mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    child = subprocess.Popen([sys.executable, "-c", _UNIX_ECHO, str(theirs.fileno())],
                             pass_fds=(theirs.fileno(),))
    theirs.close()
    try:
        def round_trip() -> None:
            mine.sendall(_MESSAGE)
            got = 0
            while got < len(_MESSAGE):
                got += len(mine.recv(65536))

        return _p50_p99(round_trip, scale)
    finally:
        mine.shutdown(socket.SHUT_WR)  # the echo loop ends on end-of-file
        child.wait(timeout=10)
        mine.close()


def _zmq_floor(scale: Scale) -> tuple[float, float]:
    import zmq  # only where pyzmq is installed (actorium's venv)

    with tempfile.TemporaryDirectory(prefix="floor-") as tmp:
        address = f"ipc://{tmp}/echo"
        ctx = zmq.Context()
        sock = ctx.socket(zmq.PAIR)
        sock.bind(address)
        child = subprocess.Popen([sys.executable, "-c", _ZMQ_ECHO, address])
        try:
            def round_trip() -> None:
                sock.send(_MESSAGE)
                sock.recv()

            return _p50_p99(round_trip, scale)
        finally:
            sock.send(b"stop")
            child.wait(timeout=10)
            sock.close(0)
            ctx.term()


def raw_floor(backend: ModuleType, scale: Scale) -> Metrics:
    """Raw round trips between two bare Python processes (64 bytes), p50/p99 in µs.

    A unix stream socket (the transport a call uses on one node), ZeroMQ PAIR over ipc (the
    one it used before, and still the one between nodes), an OS pipe, and an OS pipe with both
    processes on one CPU. Informative (no ratio): it is the same code on both backends; a
    call row's p50 divided by ``unix_stream_p50_us`` is how far it is from the floor.
    """
    del backend  # the floor does not depend on the framework
    metrics: Metrics = {}
    try:
        p50, p99 = _zmq_floor(scale)
    except ImportError:
        pass
    else:
        metrics["zmq_ipc_p50_us"] = Metric(p50, "us", None)
        metrics["zmq_ipc_p99_us"] = Metric(p99, "us", None)
    p50, p99 = _unix_floor(scale)
    metrics["unix_stream_p50_us"] = Metric(p50, "us", None)
    metrics["unix_stream_p99_us"] = Metric(p99, "us", None)
    p50, p99 = _pipe_floor(scale, same_cpu=False)
    metrics["pipe_p50_us"] = Metric(p50, "us", None)
    metrics["pipe_p99_us"] = Metric(p99, "us", None)
    p50, _ = _pipe_floor(scale, same_cpu=True)
    metrics["pipe_same_cpu_p50_us"] = Metric(p50, "us", None)
    return metrics
