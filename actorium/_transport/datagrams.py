"""Unix datagram sockets that carry a stream's items straight to the thread reading them.

Why: an item sent to a process's inbox wakes that process's event loop, which files it and
wakes the thread blocked in ``next()``: two wake-ups of two threads, each tens of
microseconds on a loaded machine. A thread that blocks in ``next()`` on a stream of a
producer on this machine instead waits in ``recv`` on a datagram socket of that stream only
(an ``Inlet``), which the producer's thread writes to (an ``Outlet``): one wake-up.

It is a shortcut, never the only way: every item the producer cannot hand to an inlet (none
listens, its queue is full, it was closed, the item is large) goes through the inbox as
before. Items are numbered, so the consumer puts the two paths back in order.

The guarantees the consumer relies on, from Linux's unix datagram sockets:

* a datagram is delivered whole or not at all, and one sender's datagrams keep their order;
* a send never blocks (``MSG_DONTWAIT``): a full queue (``net.unix.max_dgram_qlen``, 10 by
  default) answers ``FULL`` and the item takes the inbox;
* after ``shutdown(SHUT_RD)`` every send fails (the check and the queueing are atomic in the
  kernel), and what was queued before can still be read: ``Inlet.close`` loses nothing.

Datagrams are signed like every message (``FrameAuth``); the socket file lives in the
session directory (mode 0700) beside the inbox.
"""

from __future__ import annotations

import errno
import os
import socket
import threading
from enum import Enum

from actorium._transport import local

# An item larger than this goes through the inbox (its buffer would be copied twice here).
MAX_DATAGRAM = 32 * 1024
_RECV_BUFFER = MAX_DATAGRAM + 64
# Items 1 .. LOOK_FOR_INLET - 1 look for the consumer's inlet, which its reader opens only
# while waiting for one of them (item 0 never looks); later items do not look for an absent one.
LOOK_FOR_INLET = 8
# sun_path holds 108 bytes with its terminating NUL.
_MAX_PATH = 107


class Sent(Enum):
    """What ``Outlet.send`` did with a datagram."""

    SENT = "sent"          # queued at the inlet
    FULL = "full"          # the inlet's queue is full now: send this one another way
    LARGE = "large"        # over MAX_DATAGRAM: send this one another way
    ABSENT = "absent"      # no inlet (yet: the consumer opens it when it first waits)
    GONE = "gone"          # the inlet was closed: send every later one another way


def inlet_path(owner_address: str, stream_id: bytes) -> str | None:
    """The path of the inlet of stream ``stream_id`` consumed by the inbox at
    ``owner_address``, or None (not a process of this machine, streams off, path too long)."""
    inbox = local.stream_path(owner_address)
    if inbox is None:
        return None
    path = f"{inbox[:-len(local.SUFFIX)]}.g{stream_id[8:].hex()}"
    if len(os.fsencode(path)) > _MAX_PATH:
        return None
    return path


class Inlet:
    """The consumer's end: a datagram socket bound at ``path``, read by the consuming thread.

    ``wait`` blocks the calling thread (GIL released) until a datagram or a ``poke`` comes;
    ``ready`` takes what is queued without blocking; ``close`` (any thread) refuses further
    datagrams, wakes a thread blocked in ``wait`` and returns what was still queued.
    """

    __slots__ = ("path", "_sock", "_buffer", "_view", "_lock", "closed")

    def __init__(self, path: str, sock: socket.socket) -> None:
        self.path = path
        self._sock = sock
        self._buffer = bytearray(_RECV_BUFFER)
        self._view = memoryview(self._buffer)
        self._lock = threading.Lock()
        self.closed = False

    @classmethod
    def open(cls, path: str) -> Inlet | None:
        """Bind an inlet at ``path``; None if that is not possible (the caller goes without)."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            sock.bind(path)
        except OSError:
            sock.close()
            return None
        return cls(path, sock)

    def wait(self) -> bytes | None:
        """The next datagram (b"" for a poke), blocking; None once the inlet is closed."""
        try:
            count = self._sock.recv_into(self._buffer)
        except OSError:
            return None
        if count == 0 and self.closed:
            return None
        return bytes(self._view[:count])

    def ready(self) -> list[bytes]:
        """The datagrams queued now, without blocking (pokes left out)."""
        got: list[bytes] = []
        recv_into, view = self._sock.recv_into, self._view
        while True:
            try:
                count = recv_into(self._buffer, 0, socket.MSG_DONTWAIT)
            except OSError:   # BlockingIOError: empty; any other: closed meanwhile
                return got
            if count:
                got.append(bytes(view[:count]))
            elif self.closed:
                return got

    def poke(self) -> None:
        """Wake the thread blocked in ``wait`` (any thread; a no-op on a closed inlet)."""
        try:
            self._sock.sendto(b"", socket.MSG_DONTWAIT, self.path)
        except OSError:
            pass   # closed, or the queue is full: then the waiter has something to read

    def close(self) -> list[bytes]:
        """Refuse further datagrams and release the socket; what was still queued (any thread,
        once; later calls return [])."""
        with self._lock:
            if self.closed:
                return []
            self.closed = True
            try:
                self._sock.shutdown(socket.SHUT_RD)   # senders fail from here on
            except OSError:
                pass
            left = self.ready()
            self._sock.close()
        try:
            os.unlink(self.path)
        except OSError:
            pass
        return left


class Outlet:
    """The producers' end: one unbound datagram socket of a process, for every inlet (any
    thread: each send is one system call on its own)."""

    __slots__ = ("_sock",)

    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)

    def send(self, path: str, data: bytes) -> Sent:
        """Queue one datagram at the inlet at ``path``; never blocks."""
        if len(data) > MAX_DATAGRAM:
            return Sent.LARGE
        try:
            self._sock.sendto(data, socket.MSG_DONTWAIT, path)
        except BlockingIOError:
            return Sent.FULL
        except OSError as error:
            return Sent.ABSENT if error.errno == errno.ENOENT else Sent.GONE
        return Sent.SENT

    def close(self) -> None:
        self._sock.close()
