"""Same-machine messages over unix streams keep the guarantees of the ZeroMQ path: one thread's
messages arrive in order, every message is authenticated, a send never blocks (what the
kernel cannot take waits in the sender, however long the receiver does not read), a
receiver without a stream listener is reached through ZeroMQ, a gone receiver costs nothing,
and closing leaves no descriptor or socket file behind."""

from __future__ import annotations

import asyncio
import os
import socket
import struct
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import uvloop
import zmq

from actorium._transport import local
from actorium._transport.auth import FrameAuth
from actorium._transport.channel import Inbox, Outbox
from tests.polling import eventually

pytestmark = pytest.mark.timeout(120)

TOKEN = "stream-test-token"


class LoopThread:
    """An event loop running on its own thread, as a process's runtime loop does."""

    def __init__(self) -> None:
        self.loop = uvloop.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, fn: Any, *args: Any) -> Any:
        """Run ``fn(*args)`` on the loop's thread and return its result."""
        async def call() -> Any:
            return fn(*args)
        return asyncio.run_coroutine_threadsafe(call(), self.loop).result(30)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


class Receiver:
    """An inbox on its own loop thread that records what it is handed."""

    def __init__(self, ctx: zmq.Context[Any], address: str, *, start: bool = True) -> None:
        self.loop = LoopThread()
        self.got: list[list[bytes]] = []
        self.auth = FrameAuth(TOKEN)
        self.inbox: Inbox = self.loop.run(
            lambda: Inbox(ctx, address, self.loop.loop,
                          lambda frames: self.got.append([bytes(f) for f in frames]),
                          self.auth))
        if start:
            self.start()

    def start(self) -> None:
        self.loop.run(self.inbox.start)

    def close(self) -> None:
        self.loop.run(self.inbox.close)
        self.loop.stop()


@pytest.fixture
def sender(ctx: zmq.Context[Any]) -> Iterator[tuple[Outbox, LoopThread]]:
    loop = LoopThread()
    outbox = Outbox(ctx, "ipc:///nowhere/sender.sock", lambda frames: None, FrameAuth(TOKEN),
                    loop.loop)
    yield outbox, loop
    loop.stop()
    outbox.close()


def _stream_of(outbox: Outbox, address: str) -> Any:
    return outbox._sockets().get(address)


def test_a_threads_messages_arrive_in_order_even_when_one_waits_for_the_kernel(ctx, sender,
                                                                                tmp_path):
    outbox, _loop = sender
    address = f"ipc://{tmp_path}/inbox.sock"
    receiver = Receiver(ctx, address)
    try:
        big = os.urandom(3 * 1024 * 1024)
        expected = []
        for index in range(200):
            frames = [b"header-%d" % index, big] if index % 50 == 7 else [b"small-%d" % index]
            expected.append(frames)
            outbox.send(address, frames)
        assert isinstance(_stream_of(outbox, address), local.Stream)
        eventually(lambda: len(receiver.got) == len(expected), timeout=60)
        assert receiver.got == expected
        assert receiver.auth.rejected == 0
    finally:
        receiver.close()


def test_a_send_never_waits_for_a_receiver_that_does_not_read(ctx, sender, tmp_path):
    outbox, _loop = sender
    address = f"ipc://{tmp_path}/inbox.sock"
    receiver = Receiver(ctx, address, start=False)   # listening, but nothing reads yet
    try:
        chunk = os.urandom(1024 * 1024)
        for index in range(64):   # far beyond what the kernel buffers: the rest is queued
            outbox.send(address, [b"%d" % index, chunk])
        assert receiver.got == []
        receiver.start()
        eventually(lambda: len(receiver.got) == 64, timeout=60)
        assert [frames[0] for frames in receiver.got] == [b"%d" % i for i in range(64)]
        assert all(frames[1] == chunk for frames in receiver.got)
    finally:
        receiver.close()


def test_a_send_after_the_senders_loop_closed_does_not_raise(ctx, tmp_path):
    """At shutdown a thread may still send; with no loop left to flush, what the kernel does
    not take is dropped (as ZeroMQ drops what is queued when its sockets close)."""
    address = f"ipc://{tmp_path}/inbox.sock"
    receiver = Receiver(ctx, address, start=False)
    loop = LoopThread()
    outbox = Outbox(ctx, "ipc:///nowhere/s.sock", lambda frames: None, FrameAuth(TOKEN),
                    loop.loop)
    try:
        outbox.send(address, [b"first"])
        assert isinstance(_stream_of(outbox, address), local.Stream)
        loop.stop()   # closes the loop
        chunk = bytes(1024 * 1024)
        for _ in range(32):   # beyond the kernel's buffer
            outbox.send(address, [b"late", chunk])
    finally:
        outbox.close()
        receiver.close()


def test_forged_and_malformed_streams_are_dropped_and_the_inbox_keeps_serving(ctx, sender,
                                                                           tmp_path):
    outbox, _loop = sender
    address = f"ipc://{tmp_path}/inbox.sock"
    receiver = Receiver(ctx, address)
    path = local.stream_path(address)
    assert path is not None and os.path.exists(path)
    try:
        def raw(data: bytes) -> None:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
                conn.connect(path)
                conn.sendall(data)

        unsigned = b"not signed at all, long enough to carry a tag"
        raw(struct.pack("<IQ", 1, len(unsigned)) + unsigned)          # no valid tag
        forged = FrameAuth("another-token").sign([b"forged"])[0]
        raw(struct.pack("<IQ", 1, len(forged)) + forged)              # the wrong token
        raw(struct.pack("<I", 0) + b"\x00" * 64)                      # zero frames
        raw(struct.pack("<IQ", 1, 2**62))                             # an impossible length
        raw(os.urandom(4096))                                         # noise
        eventually(lambda: receiver.auth.rejected >= 4, timeout=30)
        outbox.send(address, [b"still served"])
        eventually(lambda: receiver.got == [[b"still served"]], timeout=30)
    finally:
        receiver.close()


def test_a_receiver_without_a_stream_listener_is_reached_through_zeromq(ctx, sender, tmp_path):
    outbox, _loop = sender
    address = f"ipc://{tmp_path}/inbox.sock"
    receiver = Receiver(ctx, address)
    path = local.stream_path(address)
    assert path is not None
    try:
        receiver.loop.run(receiver.inbox._listener.close)   # as if it had none
        outbox.send(address, [b"one"])
        outbox.send(address, [b"two", b"frames"])
        assert not isinstance(_stream_of(outbox, address), local.Stream)
        eventually(lambda: receiver.got == [[b"one"], [b"two", b"frames"]], timeout=30)
    finally:
        receiver.close()


def test_sending_to_a_receiver_that_is_gone_drops_the_message_and_the_stream(ctx, sender,
                                                                            tmp_path):
    outbox, _loop = sender
    address = f"ipc://{tmp_path}/inbox.sock"
    receiver = Receiver(ctx, address)
    outbox.send(address, [b"hello"])
    eventually(lambda: receiver.got == [[b"hello"]], timeout=30)
    stream = _stream_of(outbox, address)
    assert isinstance(stream, local.Stream)
    receiver.close()
    # The first writes after the receiver closed may still land in the kernel; it breaks soon.
    eventually(lambda: (outbox.send(address, [b"lost"]), stream.broken)[1], timeout=30)
    assert _stream_of(outbox, address) is not stream


def test_closing_leaves_no_descriptor_and_no_socket_file(ctx, tmp_path):
    address = f"ipc://{tmp_path}/inbox.sock"
    path = local.stream_path(address)
    before = 0
    for cycle in range(4):
        if cycle == 1:   # after the ZeroMQ context has opened its own descriptors
            before = len(os.listdir("/proc/self/fd"))
        receiver = Receiver(ctx, address)
        loop = LoopThread()
        outbox = Outbox(ctx, "ipc:///nowhere/s.sock", lambda frames: None, FrameAuth(TOKEN),
                        loop.loop)
        outbox.send(address, [b"x"])
        eventually(lambda receiver=receiver: receiver.got == [[b"x"]], timeout=30)
        receiver.close()
        loop.stop()
        outbox.close()
        assert path is not None and not os.path.exists(path)
    # ZeroMQ closes its own sockets of the inbox on its I/O thread, a moment later.
    eventually(lambda: len(os.listdir("/proc/self/fd")) <= before, timeout=30)
