"""Messages between processes of one machine over unix stream sockets, read by the event loop.

Why: through ZeroMQ, a message from one process to another on this machine crosses four
threads (the sending thread, the sender's libzmq I/O thread, the receiver's libzmq I/O thread,
the receiver's loop), and each wake-up of a thread on another CPU costs tens of microseconds on
a small VM. Here the sending thread writes the message into the kernel itself and the
receiving process's event loop (uvloop) reads it itself: two threads, not four, on each leg of
a call.

The guarantees are those of the ZeroMQ path, which the rest of the runtime relies on:

* *order*: one stream per (sending thread, receiver), so a thread's messages to one receiver
  arrive in the order it sent them, as through its own PUSH socket;
* *authentication*: the same ``FrameAuth`` signs every message and checks it before anything
  is decoded; a stream that announces an impossible length is closed (it cannot be re-synced);
* *never blocking*: what the kernel cannot take at once is queued (without copying) and
  written by the process's own event loop as the receiver reads, so no thread waits for a slow
  receiver, and the loop above all never does; the queue is unbounded, as a PUSH socket with
  ``SNDHWM`` 0 is;
* *delivery while the receiver lives*; what is written to a receiver that died is lost, as
  queued ZeroMQ messages to it are (callers' resends and WORKER_DIED deal with that).

A receiver that has no stream listener (another version, a path too long for a unix socket,
``ACTORIUM_LOCAL_STREAMS=0``) is reached through ZeroMQ; the choice is made once per
(thread, receiver), so one thread's messages never take two paths.

*Leader/follower reading* (``Listener.lead``, Linux): a thread blocked waiting for a reply
(``get()``) may read the streams itself instead of sleeping until the loop has read the reply
and woken it, which saves a hand-off between two threads on every blocking call. The
connections sit in one epoll set; the loop watches it through a second epoll set it alone
polls, and a thread that leads takes the first set out of the second, so the loop is not
woken for what the leader reads. One thread leads at a time and whoever reads dispatches:
the leader passes each message to ``off_loop`` (which handles what is safe on any thread
and hands the rest to the loop, in order), and gives the set back to the loop when it stops.

Wire format of one message: ``<u32 n>``, ``n`` times ``<u64 length>``, then the ``n`` frames.
"""

from __future__ import annotations

import asyncio
import os
import select
import socket
import struct
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

import zmq

# Off with ACTORIUM_LOCAL_STREAMS=0: every message goes through ZeroMQ (to compare, or debug).
ENABLED = os.environ.get("ACTORIUM_LOCAL_STREAMS", "1") != "0"
# The stream listener of the inbox at ``ipc://<path>`` is at ``<path>`` + this.
SUFFIX = ".s"
# sun_path holds 108 bytes with its terminating NUL.
_MAX_PATH = 107
# The receive buffer; a message that does not fit gets a buffer of its own (no copy after).
_CHUNK = 256 * 1024
# A message's frame count is bounded so that its length table fits the receive buffer.
_MAX_FRAMES = (_CHUNK - 4) // 8
# Kernel buffer per stream: large enough that a call's message almost never waits for the loop.
_SNDBUF = 4 * 1024 * 1024
# How many queued pieces one write of the loop hands the kernel.
_IOV_BATCH = 64

# Leader/follower reading needs epoll sets (Linux); elsewhere the loop reads every stream.
# ``ACTORIUM_LEADER_READS=0`` turns it off: the loop reads every stream (to compare).
_EPOLL = hasattr(select, "epoll") and hasattr(os, "eventfd")
LEADING = _EPOLL and os.environ.get("ACTORIUM_LEADER_READS", "1") != "0"

_COUNT = struct.Struct("<I")
_ONE = struct.Struct("<IQ")

Handler = Callable[[list[Any]], None]


def stream_path(address: str) -> str | None:
    """The stream listener's path for an ``ipc://`` inbox address, or None (no stream)."""
    if not ENABLED or not address.startswith("ipc://"):
        return None
    path = address[len("ipc://"):] + SUFFIX
    if len(os.fsencode(path)) > _MAX_PATH:
        return None
    return path


# ---------------------------------------------------------------------------- sending side
class Stream:
    """One thread's connection to one receiver's listener (see the module docstring).

    ``write`` is called by the owning thread only; the queue it leaves behind is written by
    ``loop``'s thread, hence the lock (uncontended unless the receiver is slow).
    """

    __slots__ = ("_sock", "_fd", "_loop", "_lock", "_pending", "_writing", "broken")

    def __init__(self, sock: socket.socket, loop: asyncio.AbstractEventLoop) -> None:
        self._sock = sock
        self._fd = sock.fileno()
        self._loop = loop
        self._lock = threading.Lock()
        self._pending: deque[memoryview] = deque()
        self._writing = False    # a writer callback is (or is about to be) registered
        self.broken = False      # the receiver went away: drop what is sent from now on

    @classmethod
    def connect(cls, path: str, loop: asyncio.AbstractEventLoop) -> Stream | None:
        """A stream to the listener at ``path``, or None if nobody listens there."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.setblocking(False)   # a full backlog must not block: ZeroMQ takes over
            sock.connect(path)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, _SNDBUF)
        except OSError:
            sock.close()
            return None
        return cls(sock, loop)

    def write(self, frames: Sequence[Any]) -> None:
        """Send one (signed) message; never blocks. Safe from the owning thread only."""
        if len(frames) == 1:
            first = frames[0]
            parts: list[Any] = [_ONE.pack(1, len(first)) + first]
        else:
            views = [memoryview(frame).cast("B") for frame in frames]
            parts = [struct.pack(f"<I{len(views)}Q", len(views), *(v.nbytes for v in views)),
                     *views]
        with self._lock:
            if self.broken:
                return
            if self._pending:
                self._pending.extend(memoryview(part).cast("B") for part in parts)
                return
            try:
                sent = self._sock.send(parts[0]) if len(parts) == 1 else \
                    self._sock.sendmsg(parts)
            except BlockingIOError:
                sent = 0
            except OSError:
                self._break()
                return
            for part in parts:
                view = memoryview(part).cast("B")
                if sent >= view.nbytes:
                    sent -= view.nbytes
                    continue
                self._pending.append(view[sent:] if sent else view)
                sent = 0
            if self._pending:
                self._writing = True
                try:
                    self._loop.call_soon_threadsafe(self._start_writer)
                except RuntimeError:   # the loop is closed (shutdown): nothing will flush
                    self._break()
                    self._writing = False

    def _start_writer(self) -> None:
        with self._lock:
            if self.broken or not self._pending:
                self._writing = False
                return
        try:
            self._loop.add_writer(self._fd, self._flush)
        except (OSError, RuntimeError, ValueError):
            with self._lock:
                self._break()
                self._writing = False

    def _flush(self) -> None:
        """Write what is queued, as far as the kernel takes it (loop thread)."""
        with self._lock:
            pending = self._pending
            while pending:
                batch = [pending[i] for i in range(min(len(pending), _IOV_BATCH))]
                try:
                    sent = self._sock.sendmsg(batch)
                except BlockingIOError:
                    return
                except OSError:
                    self._break()
                    break
                while sent:
                    head = pending[0]
                    if sent >= head.nbytes:
                        sent -= head.nbytes
                        pending.popleft()
                    else:
                        pending[0] = head[sent:]
                        sent = 0
            self._writing = False
        self._loop.remove_writer(self._fd)

    def _break(self) -> None:
        """The receiver is gone (lock held): nothing more will be written."""
        self.broken = True
        self._pending.clear()

    def close(self, flush_seconds: float = 0.0) -> None:
        """Close the connection (thread of ``loop``, or once the loop has stopped).

        What is still queued is dropped, or with ``flush_seconds`` > 0 given that long to go.
        """
        with self._lock:
            writing = self._writing
            if flush_seconds > 0 and self._pending and not self.broken:
                self._sock.settimeout(flush_seconds)
                try:
                    for piece in self._pending:
                        self._sock.sendall(piece)
                except OSError:
                    pass
            self._break()
        if writing and not self._loop.is_closed():
            try:
                self._loop.remove_writer(self._fd)
            except (OSError, RuntimeError, ValueError):
                pass
        self._sock.close()


# ---------------------------------------------------------------------------- receiving side
class Listener:
    """The stream listener beside an inbox: accepts connections and reads them on the loop.

    ``deliver`` gets each message as ZeroMQ's inbox would read it: the first frame as
    ``bytes`` (still tagged), the others as ``zmq.Frame``. ``reject`` counts a stream cut for
    a malformed length. Plain sockets (not asyncio transports), so that ``close`` is done when
    it returns, whether or not the loop runs again. Whoever reads the connections holds
    ``_read_lock``: the loop, or a thread that leads (``lead``).
    """

    def __init__(self, path: str, deliver: Handler, reject: Callable[[int, int], None],
                 max_message_bytes: int) -> None:
        self.path = path
        self._deliver = deliver
        self._reject = reject
        self.max_message_bytes = max_message_bytes
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            if os.path.exists(path):
                os.unlink(path)   # a leftover of a process with our (random) id: never live
            self._sock.bind(path)
            self._sock.listen(4096)
        except OSError:
            self._sock.close()
            raise
        self._sock.setblocking(False)
        self._loop: asyncio.AbstractEventLoop | None = None
        self.readers: set[_Reader] = set()
        self.closed = False
        # Where each message read goes: ``deliver``, or a leader's ``off_loop`` while it leads.
        self._dispatch: Handler = deliver
        self._read_lock = threading.RLock()   # re-entered if a handler closes the inbox
        self._lead_lock = threading.Lock()
        # With epoll: the connections' set, the set the loop polls (holding the first while
        # nobody leads) and the leader's (the first and the wake-up eventfd).
        self._by_fd: dict[int, _Reader] = {}
        self._conns: Any = None
        self._loop_set: Any = None
        self._lead_set: Any = None
        self._wake_fd = -1
        self._wake_lock = threading.Lock()
        # Messages a leader handed to the loop and the loop has not handled yet, in order.
        self._handed: deque[tuple[Handler, list[Any]]] = deque()

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Accept and read on ``loop`` (call from its thread)."""
        self._loop = loop
        loop.add_reader(self._sock.fileno(), self._accept)
        if _EPOLL:
            self._conns = select.epoll()
            self._loop_set = select.epoll()
            self._lead_set = select.epoll()
            self._wake_fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
            self._loop_set.register(self._conns.fileno(), select.EPOLLIN)
            self._lead_set.register(self._conns.fileno(), select.EPOLLIN)
            self._lead_set.register(self._wake_fd, select.EPOLLIN)
            loop.add_reader(self._loop_set.fileno(), self._on_loop_ready)

    def _accept(self) -> None:
        assert self._loop is not None
        for _ in range(64):
            try:
                conn, _address = self._sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return   # closed meanwhile, or out of descriptors: try at the next wake-up
            conn.setblocking(False)
            reader = _Reader(self, conn)
            self.readers.add(reader)
            if self._conns is not None:
                self._by_fd[reader.fd] = reader   # before it can be polled
                self._conns.register(reader.fd, select.EPOLLIN)
            else:
                self._loop.add_reader(conn.fileno(), reader.on_readable)

    # ------------------------------------------------------------ reading: loop or leader
    def _on_loop_ready(self) -> None:
        """A connection is readable and nobody leads (loop thread)."""
        if not self._read_lock.acquire(blocking=False):
            return   # a wake-up from just before a thread took the set away to lead
        try:
            self._run_handed()   # what a leader handed over comes first: it was read first
            self._read_ready()
        finally:
            self._read_lock.release()

    def _read_ready(self) -> None:
        for fd, _events in self._conns.poll(0):
            reader = self._by_fd.get(fd)
            if reader is not None:
                reader.on_readable()

    def lead(self, done: Callable[[], bool], off_loop: Handler, timeout: float | None) -> bool:
        """Read the connections on this thread until ``done()``, ``timeout`` or close.

        Each message read goes to ``off_loop`` instead of ``deliver``. False at once if
        another thread leads (or leading is not available): then wait for ``done`` as usual.
        ``wake`` ends the wait early (whoever makes ``done()`` true from another thread).
        """
        if self._lead_set is None or self.closed or not self._lead_lock.acquire(blocking=False):
            return False
        try:
            try:
                self._loop_set.unregister(self._conns.fileno())
            except (OSError, ValueError):
                return False   # closed meanwhile
            try:
                with self._read_lock:
                    self._dispatch = off_loop
                    try:
                        self._lead(done, timeout)
                    finally:
                        self._dispatch = self._deliver
            finally:
                if not self.closed:
                    try:
                        self._loop_set.register(self._conns.fileno(), select.EPOLLIN)
                    except (OSError, ValueError):
                        pass
        finally:
            self._lead_lock.release()
        return True

    def _lead(self, done: Callable[[], bool], timeout: float | None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        conns, wake, poll = self._conns.fileno(), self._wake_fd, self._lead_set.poll
        try:
            os.eventfd_read(wake)   # a wake-up left over from an earlier leader
        except BlockingIOError:
            pass
        while not done() and not self.closed:
            wait = -1.0
            if deadline is not None:
                wait = deadline - time.monotonic()
                if wait <= 0:
                    return
            for fd, _events in poll(wait):
                if fd == conns:
                    self._read_ready()
                else:
                    try:
                        os.eventfd_read(wake)
                    except BlockingIOError:
                        pass

    def wake(self) -> None:
        """End a leader's wait, to look at ``done()`` again (any thread)."""
        with self._wake_lock:
            if self._wake_fd >= 0:
                os.eventfd_write(self._wake_fd, 1)

    @property
    def handing(self) -> bool:
        """True while messages a leader handed to the loop are not all handled yet."""
        return bool(self._handed)

    def hand_to_loop(self, handler: Handler, message: list[Any]) -> None:
        """Have the loop run ``handler(message)``, after what was handed before (leader)."""
        self._handed.append((handler, message))
        assert self._loop is not None
        try:
            self._loop.call_soon_threadsafe(self._run_handed)
        except RuntimeError:
            pass   # the loop is closed: shutdown, nothing waits for it any more

    def _run_handed(self) -> None:
        handed = self._handed
        while handed:
            handler, message = handed[0]
            try:
                handler(message)
            except Exception:  # noqa: BLE001 - one failing handler must not stop the others
                traceback.print_exc()
            finally:
                handed.popleft()

    # ------------------------------------------------------------ closing
    def drop(self, reader: _Reader) -> None:
        """Stop reading a connection and close it (whoever reads)."""
        self.readers.discard(reader)
        if self._conns is not None:
            self._by_fd.pop(reader.fd, None)
            try:
                self._conns.unregister(reader.fd)
            except (OSError, ValueError):
                pass
        elif self._loop is not None and not self._loop.is_closed():
            try:
                self._loop.remove_reader(reader.fd)
            except (OSError, RuntimeError, ValueError):
                pass
        reader.sock.close()

    def close(self) -> None:
        """Stop accepting, close every connection, remove the path (loop thread).

        A thread that leads is woken and stops leading first (waited for a few seconds).
        """
        if self.closed:
            return
        self.closed = True
        loop = self._loop
        if loop is not None and not loop.is_closed():
            for fd in (self._sock.fileno(),
                       self._loop_set.fileno() if self._loop_set is not None else -1):
                if fd < 0:
                    continue
                try:
                    loop.remove_reader(fd)
                except (OSError, RuntimeError, ValueError):
                    pass
        self._sock.close()
        self.wake()
        locked = self._read_lock.acquire(timeout=5)
        try:
            for reader in list(self.readers):
                self.drop(reader)
            for epoll in (self._conns, self._loop_set, self._lead_set):
                if epoll is not None:
                    epoll.close()
            with self._wake_lock:
                if self._wake_fd >= 0:
                    os.close(self._wake_fd)
                    self._wake_fd = -1
        finally:
            if locked:
                self._read_lock.release()
        try:
            os.unlink(self.path)
        except OSError:
            pass


class _Reader:
    """One accepted connection: reads messages straight into its buffers and delivers them."""

    __slots__ = ("_listener", "sock", "fd", "_buffer", "_view", "_start", "_end",
                 "_body", "_body_view", "_body_filled", "_body_lengths", "closed")

    def __init__(self, listener: Listener, sock: socket.socket) -> None:
        self._listener = listener
        self.sock = sock
        self.fd = sock.fileno()
        self._buffer = bytearray(_CHUNK)
        self._view = memoryview(self._buffer)
        self._start = 0          # first unparsed byte of _buffer
        self._end = 0            # end of the bytes read into _buffer
        # A message larger than the buffer is read into its own body buffer.
        self._body: bytearray | None = None
        self._body_view: memoryview | None = None
        self._body_filled = 0
        self._body_lengths: tuple[int, ...] = ()
        self.closed = False

    def on_readable(self) -> None:
        recv_into = self.sock.recv_into
        while not self.closed:
            target = self._target()
            try:
                count = recv_into(target)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                count = 0
            if count == 0:   # the sender closed its end (or it broke)
                self.close()
                return
            self._received(count)
            if count < len(target):
                return   # drained: the next wake-up brings more

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._listener.drop(self)

    def _target(self) -> memoryview:
        if self._body_view is not None:
            return self._body_view[self._body_filled:]
        if self._start and len(self._buffer) - self._end < _CHUNK // 4:
            self._compact()
        return self._view[self._end:]

    def _compact(self) -> None:
        start, end = self._start, self._end
        self._buffer[:end - start] = self._view[start:end]
        self._start, self._end = 0, end - start

    def _received(self, nbytes: int) -> None:
        if self._body is not None:
            self._body_filled += nbytes
            if self._body_filled == len(self._body):
                body, lengths = self._body, self._body_lengths
                self._body = self._body_view = None
                self._listener._dispatch(_frames(memoryview(body), 0, lengths, True))
            return
        self._end += nbytes
        self._parse()

    def _parse(self) -> None:
        buffer, view = self._buffer, self._view
        position, end = self._start, self._end
        deliver = self._listener._dispatch
        while end - position >= 4:
            count = _COUNT.unpack_from(buffer, position)[0]
            if count == 0 or count > _MAX_FRAMES:
                self._malformed(end - position)
                return
            table = 4 + 8 * count
            if end - position < table:
                break
            lengths = struct.unpack_from(f"<{count}Q", buffer, position + 4)
            size = sum(lengths)
            if size > self._listener.max_message_bytes:
                self._malformed(end - position)
                return
            available = end - position - table
            if available >= size:
                body = position + table
                position = body + size
                deliver(_frames(view, body, lengths, False))
                if self.closed:
                    return
                continue
            if table + size > len(buffer):
                # Too large for the buffer: give it a buffer of its own, read straight into it.
                self._body = bytearray(size)
                self._body_view = memoryview(self._body)
                self._body[:available] = view[position + table:end]
                self._body_filled = available
                self._body_lengths = lengths
                position = end
            break
        if position == end:
            self._start = self._end = 0
        else:
            self._start = position

    def _malformed(self, size: int) -> None:
        self._listener._reject(size, 0)
        self._start = self._end = 0
        self.close()


def _frames(view: memoryview, offset: int, lengths: tuple[int, ...], owned: bool) -> list[Any]:
    """A message's frames: the first as bytes, the others as ``zmq.Frame`` (as ZeroMQ's inbox
    hands them over). ``owned``: ``view`` is the message's own buffer, which the frames may
    keep without a copy; else it is the reused receive buffer, which they must not."""
    first_end = offset + lengths[0]
    frames: list[Any] = [bytes(view[offset:first_end])]
    position = first_end
    for length in lengths[1:]:
        piece = view[position:position + length]
        frames.append(zmq.Frame(piece if owned else bytes(piece)))
        position += length
    return frames
