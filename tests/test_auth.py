"""Every message is authenticated before it is decoded: no token, no code runs."""

from __future__ import annotations

import os
import random
import socket
import struct

import pytest
import zmq

import actorium
from actorium._core import context
from actorium._transport import local, serialization
from actorium._transport.auth import FrameAuth, check_bind_host
from actorium._transport.protocol import Kind, pack

pytestmark = pytest.mark.timeout(120)


def test_a_signed_message_opens_to_its_frames():
    auth = FrameAuth("secret")
    frames = [pack([1, "x"]), b"buffer"]
    opened = auth.open(auth.sign(frames))
    assert opened is not None
    assert [bytes(f) for f in opened] == frames
    assert auth.rejected == 0


def test_a_message_signed_with_another_token_or_tampered_is_rejected_and_counted():
    auth = FrameAuth("secret")
    assert auth.open(FrameAuth("other").sign([b"hello"])) is None
    signed = auth.sign([b"hello", b"world"])
    assert auth.open([signed[0], b"WORLD"]) is None
    assert auth.open([signed[0] + signed[1]]) is None   # frames cannot be re-cut
    assert auth.open([b"short"]) is None
    assert auth.rejected == 4


def test_binding_beyond_this_machine_needs_a_token():
    with pytest.raises(ValueError, match="10.1.2.3"):
        check_bind_host("10.1.2.3", None)
    check_bind_host("127.0.0.1", None)
    check_bind_host("10.1.2.3", "token")


def _inboxes(runtime) -> list[str]:
    workers = runtime.request("list_workers")
    del workers
    addresses = [runtime.node_address]
    session = runtime.session_dir
    addresses += [f"ipc://{session}/{name}" for name in os.listdir(session)
                  if name.endswith(".sock") and f"ipc://{session}/{name}" != runtime.address]
    return sorted(set(addresses))


def _canary_task(path: str) -> list[bytes]:
    """An EXECUTE_TASK that would create ``path`` if a worker ever ran it."""

    def plant() -> None:
        with open(path, "w") as file:
            file.write("ran")

    code = serialization.dumps(plant)[1]
    fmt, data, _buffers, _refs = serialization.dumps_args("plant", (), {})
    header = [Kind.EXECUTE_TASK, os.urandom(16), "ipc:///nowhere", os.urandom(16), code, "plant",
              fmt, data, 0, [], {}, 1, 0]
    return [pack(header)]


def test_fuzzing_every_inbox_runs_nothing_and_the_runtime_still_serves(runtime, tmp_path):
    canary = tmp_path / "canary"
    rng = random.Random(6)
    ctx = zmq.Context()
    try:
        for address in _inboxes(context.current_runtime()):
            push = ctx.socket(zmq.PUSH)
            push.setsockopt(zmq.LINGER, 0)
            push.connect(address)
            for _ in range(2000):
                count = rng.randint(1, 4)
                push.send_multipart([rng.randbytes(rng.randint(0, 200)) for _ in range(count)])
            # Well-formed messages without the token, or signed with a wrong one.
            for frames in (_canary_task(str(canary)),
                           FrameAuth("not-the-token").sign(_canary_task(str(canary)))):
                for _ in range(50):
                    push.send_multipart(frames)
            push.close()
    finally:
        ctx.term()

    @actorium.remote
    def still_alive(x: int) -> int:
        return x + 1

    assert actorium.get([still_alive.remote(i) for i in range(20)], timeout=60) == \
        list(range(1, 21))
    assert not canary.exists()


def test_fuzzing_every_stream_listener_runs_nothing_and_the_runtime_still_serves(runtime,
                                                                                 tmp_path):
    """The same over the unix streams processes of one machine send each other on."""
    canary = tmp_path / "canary"
    rng = random.Random(7)
    paths = [path for address in _inboxes(context.current_runtime())
             if (path := local.stream_path(address)) and os.path.exists(path)]
    assert paths, "no process listens for streams"

    def framed(frames: list[bytes]) -> bytes:
        return struct.pack(f"<I{len(frames)}Q", len(frames), *map(len, frames)) + b"".join(frames)

    for path in paths:
        for attempt in range(20):
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
                conn.connect(path)
                try:
                    if attempt % 2:
                        conn.sendall(rng.randbytes(rng.randint(1, 5000)))   # noise
                    else:
                        for _ in range(50):   # well framed, never signed right
                            count = rng.randint(1, 4)
                            conn.sendall(framed([rng.randbytes(rng.randint(0, 200))
                                                 for _ in range(count)]))
                        conn.sendall(framed(_canary_task(str(canary))))
                        conn.sendall(framed(FrameAuth("not-the-token").sign(
                            _canary_task(str(canary)))))
                except OSError:
                    pass   # the receiver cut a malformed stream

    @actorium.remote
    def still_alive(x: int) -> int:
        return x + 1

    assert actorium.get([still_alive.remote(i) for i in range(20)], timeout=60) == \
        list(range(1, 21))
    assert not canary.exists()
