"""ZeroMQ sockets: one inbox per process, send-only sockets per (thread, peer).

Every process binds exactly one PULL socket, its *inbox*, and reads it from its event loop.
To send, a thread pushes through its own PUSH socket connected to the peer's inbox. Because
each thread owns its sockets, a user thread can submit a call without waking the runtime's
loop thread (ZeroMQ sockets are not thread-safe, contexts are), and a worker thread can send
a result the moment it has one.

A message to the process's own inbox never touches ZeroMQ: it is handed to the loop with
``call_soon_threadsafe``, which keeps actor-to-actor calls inside one worker cheap.

Between processes of one machine (``ipc://`` inboxes), messages go over unix stream sockets
that the sending thread writes and the receiving loop reads itself (``local``), not through
libzmq's I/O threads: an inbox listens on both, an outbox picks the stream when the receiver
has one. ZeroMQ stays the transport between machines.
"""

from __future__ import annotations

import asyncio
import os
import socket as _socket
import threading
import traceback
from collections.abc import Callable, Sequence
from typing import Any

import zmq

from actorium._transport import local
from actorium._transport.auth import FrameAuth

Frames = Sequence[Any]
MessageHandler = Callable[[list[Any]], None]

# The most messages one wake-up of the loop drains before it lets other callbacks run.
_DRAIN_BATCH = 512
# Upper bound on one message; a malformed or hostile length prefix cannot allocate more.
# ``ACTORIUM_MAX_MESSAGE_BYTES`` lowers it (a cluster on an untrusted network may want to).
MAX_MESSAGE_BYTES = int(os.environ.get("ACTORIUM_MAX_MESSAGE_BYTES", 4 * 1024 * 1024 * 1024))


def free_tcp_address(host: str) -> str:
    """A ``tcp://host:port`` address with a port that is free right now (for an inbox)."""
    family = _socket.AF_INET6 if ":" in host else _socket.AF_INET
    with _socket.socket(family, _socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port = probe.getsockname()[1]
    return f"tcp://{host}:{port}" if family == _socket.AF_INET else f"tcp://[{host}]:{port}"


class Inbox:
    """The PULL socket a process receives every message on, read by its event loop.

    Every message is authenticated (see ``auth``) before ``on_message`` sees it; ``on_message``
    receives the frames with the tag removed.
    """

    def __init__(self, context: zmq.Context[Any], address: str, loop: asyncio.AbstractEventLoop,
                 on_message: MessageHandler, auth: FrameAuth) -> None:
        self.address = address
        self._loop = loop
        self._on_message = on_message
        self.auth = auth
        self._socket = context.socket(zmq.PULL)
        self._socket.setsockopt(zmq.LINGER, 0)
        self._socket.setsockopt(zmq.RCVHWM, 0)
        self._socket.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
        self._socket.bind(address)
        path = local.stream_path(address)
        self._listener = local.Listener(path, self._on_stream_message, auth.reject,
                                        MAX_MESSAGE_BYTES) if path else None
        self._draining_scheduled = False
        # What a thread that leads (``lead``) handles itself: called with each authenticated
        # message, it returns False to have the loop handle it. None: nobody leads.
        self.off_loop: Callable[[list[Any]], bool] | None = None
        # Traffic counters for /metrics (only the loop thread touches them).
        self.received = 0
        self.received_bytes = 0
        self.dropped = 0   # bumped by the owner for frames it could not decode

    def start(self) -> None:
        """Begin delivering messages to ``on_message`` on the loop (call from the loop thread)."""
        self._loop.add_reader(self._socket.getsockopt(zmq.FD), self._drain)
        # Messages may have arrived before the reader was added; the FD is edge-triggered.
        self._loop.call_soon(self._drain)
        if self._listener is not None:
            self._listener.start(self._loop)

    def _on_stream_message(self, frames: list[Any]) -> None:
        self.received += 1
        self.received_bytes += sum(memoryview(frame).nbytes for frame in frames)
        message = self.auth.open(frames)
        if message is not None:
            try:
                self._on_message(message)
            except Exception:  # noqa: BLE001 - one failing handler must not cut the stream
                traceback.print_exc()

    def lead(self, done: Callable[[], bool], timeout: float | None) -> bool:
        """Read this process's streams on the calling thread until ``done()`` (or ``timeout``).

        For a thread about to block waiting for a reply: it reads the reply itself instead of
        being woken by the loop once the loop has. Messages ``off_loop`` does not take are
        handed to the loop, in the order read. False if another thread leads or leading is
        off: wait as usual then. ``wake`` (any thread) makes the leader look at ``done``.
        """
        listener = self._listener
        if listener is None or self.off_loop is None:
            return False
        return listener.lead(done, self._on_stream_message_off_loop, timeout)

    def wake(self) -> None:
        """Make a thread that leads look at its ``done()`` again (any thread)."""
        if self._listener is not None:
            self._listener.wake()

    def _on_stream_message_off_loop(self, frames: list[Any]) -> None:
        # Counted like the loop's reads; the counters may then miss a rare increment.
        self.received += 1
        self.received_bytes += sum(memoryview(frame).nbytes for frame in frames)
        message = self.auth.open(frames)
        if message is None:
            return
        listener = self._listener
        assert listener is not None and self.off_loop is not None
        # Nothing overtakes what was handed to the loop before it (one sender's order).
        if not listener.handing:
            try:
                if self.off_loop(message):
                    return
            except Exception:  # noqa: BLE001 - as on the loop: one message, not the stream
                traceback.print_exc()
                return
        listener.hand_to_loop(self._on_message, message)

    def _drain(self) -> None:
        self._draining_scheduled = False
        socket = self._socket
        recv = socket.recv
        handle = self._on_message
        open_message = self.auth.open
        for _ in range(_DRAIN_BATCH):
            try:
                first = recv(zmq.NOBLOCK)
            except zmq.Again:
                return
            except zmq.ZMQError:
                return  # closed during shutdown
            size = len(first)
            if socket.rcvmore:
                rest = socket.recv_multipart(copy=False)
                size += sum(len(frame) for frame in rest)
                frames = [first, *rest]
            else:
                frames = [first]
            self.received += 1
            self.received_bytes += size
            message = open_message(frames)
            if message is not None:
                handle(message)
        # More may be waiting and the edge-triggered FD will not fire again for them.
        if not self._draining_scheduled:
            self._draining_scheduled = True
            self._loop.call_soon(self._drain)

    def close(self) -> None:
        """Stop reading and close the socket (call from the loop thread)."""
        try:
            self._loop.remove_reader(self._socket.getsockopt(zmq.FD))
        except (zmq.ZMQError, RuntimeError, ValueError):
            pass
        self._socket.close(linger=0)
        if self._listener is not None:
            self._listener.close()


class Outbox:
    """Sends messages to peers' inboxes through per-thread sockets: a unix stream to a peer of
    this machine that listens for one, else a ZeroMQ PUSH socket.

    Streams need ``loop`` (the process's event loop, which writes what the kernel could not
    take at once); until it is set, every peer is reached through ZeroMQ.
    """

    def __init__(self, context: zmq.Context[Any], local_address: str,
                 local_deliver: Callable[[list[Any]], None], auth: FrameAuth,
                 loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.loop = loop
        self._context = context
        self._sign = auth.sign
        self.local_address = local_address
        self._local_deliver = local_deliver
        self._per_thread = threading.local()
        self._lock = threading.Lock()
        self._all_sockets: list[zmq.Socket[Any] | local.Stream] = []
        self.closed = False
        # Traffic counters for /metrics; bumped by several threads without a lock, so a
        # rare increment may be lost: they are for watching trends, not for accounting.
        self.sent = 0
        self.sent_bytes = 0

    def _sockets(self) -> dict[str, zmq.Socket[Any] | local.Stream]:
        try:
            sockets: dict[str, zmq.Socket[Any] | local.Stream] = self._per_thread.sockets
        except AttributeError:
            sockets = self._per_thread.sockets = {}
        return sockets

    def _connect(self, address: str) -> zmq.Socket[Any] | local.Stream:
        path = local.stream_path(address)
        if path is not None and self.loop is not None:
            stream = local.Stream.connect(path, self.loop)
            if stream is not None:
                with self._lock:
                    self._all_sockets.append(stream)
                self._sockets()[address] = stream
                return stream
        socket: zmq.Socket[Any] = self._context.socket(zmq.PUSH)
        socket.setsockopt(zmq.LINGER, 0)
        socket.setsockopt(zmq.SNDHWM, 0)
        socket.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
        socket.connect(address)
        with self._lock:
            self._all_sockets.append(socket)
        self._sockets()[address] = socket
        return socket

    def send(self, address: str, frames: Frames) -> None:
        """Queue ``frames`` for ``address``; never blocks. Safe from any thread."""
        if address == self.local_address:
            self._local_deliver(list(frames))
            return
        if self.closed:
            return
        socket = self._sockets().get(address) or self._connect(address)
        signed = self._sign(frames)
        self.sent += 1
        if isinstance(socket, local.Stream):
            self.sent_bytes += sum(memoryview(frame).nbytes for frame in signed)
            socket.write(signed)
            if socket.broken:
                # The peer is gone; the next message to this address connects anew.
                self.forget(address)
            return
        if len(signed) == 1:
            self.sent_bytes += len(signed[0])
            socket.send(signed[0], copy=True)
        else:
            self.sent_bytes += sum(memoryview(frame).nbytes for frame in signed)
            socket.send_multipart(signed, copy=False)

    def forget(self, address: str) -> None:
        """Close this thread's socket to a peer that is gone, dropping what is queued for it."""
        socket = self._sockets().pop(address, None)
        if socket is not None:
            with self._lock:
                if socket in self._all_sockets:
                    self._all_sockets.remove(socket)
            if isinstance(socket, local.Stream):
                socket.close()
            else:
                socket.close(linger=0)

    def close(self, flush_seconds: float = 0.0) -> None:
        """Close every socket of every thread (at shutdown, once other threads are idle).

        With ``flush_seconds`` > 0, messages still queued get that long to be delivered.
        """
        self.closed = True
        with self._lock:
            sockets, self._all_sockets = self._all_sockets, []
        linger = int(flush_seconds * 1000)
        for socket in sockets:
            try:
                if isinstance(socket, local.Stream):
                    socket.close(flush_seconds)
                else:
                    socket.close(linger=linger)
            except zmq.ZMQError:
                pass
