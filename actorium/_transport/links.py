"""Reliable delivery per (sender process -> receiver process) link, when it is switched on.

Off by default: the ordinary path (unix streams, ZeroMQ over IPC) neither loses, doubles nor
reorders one sender's messages, so nothing here runs. It is switched on by a fault plan that
asks for it (``inject_faults(..., reliable=True)``: drops, duplicates and reorders then hit the
wire *below* it) or by ``ACTORIUM_RELIABLE_LINKS=1`` (ZeroMQ over TCP silently loses what was
in flight when a connection breaks and comes back).

The design, for each sending process and each receiver address (one *link*):

* the sender numbers its messages ``0, 1, 2...`` under one lock (whatever thread sends), puts
  a small frame before each (link id, sequence number, its own inbox address) and keeps it
  until the receiver acknowledges it;
* the receiver delivers each link's messages strictly in sequence: a message ahead of the
  next expected one waits, one already delivered (a duplicate, a resend) is dropped;
* every ``_TICK`` a background thread sends the acknowledgements due (cumulative: "everything
  below n was delivered", one message per link however many arrived) and resends what has
  waited longer than its time-out (``_RESEND_AFTER``, doubling per attempt up to
  ``_RESEND_MAX``), through the same send path, so a resend can be lost or doubled too; an
  acknowledgement that says messages wait behind a gap has the missing one resent at once;
* a receiver that restarted behind the same address acknowledges with a new incarnation: the
  sender starts a new link (what the dead receiver had not acknowledged is lost with it, as
  it would be on any network); a sender that restarted numbers a new link from 0;
* a gap that a dead sender will never fill does not hold the rest back forever: the messages
  behind it are delivered when ``WORKER_DIED`` names the sender, or after ``_GAP_TIMEOUT``
  (the missing ones are still delivered if they come late);
* a peer that never acknowledges for ``_GIVE_UP`` seconds (it is gone) is forgotten, as is
  one the outbox forgets.

Acknowledgements travel on their own (no message kind: faults do not hit them).
"""

from __future__ import annotations

import asyncio
import os
import struct
import sys
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from typing import Any

import msgpack

from actorium._transport.protocol import Kind

RELIABLE_ENV = "ACTORIUM_RELIABLE_LINKS"

_MAGIC = b"\xc1actorium-link"     # 0xc1 is never the first byte of a msgpack header
_MESSAGE, _ACK = b"M", b"A"
_PREFIX = len(_MAGIC) + 1
_MSG_FIXED = struct.Struct("!8sQ")        # link id, sequence number; then the sender address
_ACK_FIXED = struct.Struct("!8s8sQ?")     # receiver incarnation, link id, next expected, gap

_TICK = 0.01
_RESEND_AFTER = 0.05
# An acknowledgement that reports a gap has the missing message resent at the next tick, if
# it left longer ago than this (it is lost, not merely overtaken).
_FAST_RESEND_AFTER = 0.02
_RESEND_MAX = 1.0
_GAP_TIMEOUT = 10.0
_GIVE_UP = 60.0

Send = Callable[[str, Sequence[Any]], None]
Handler = Callable[[list[Any]], None]


def _unset(_frames: list[Any]) -> None:
    raise RuntimeError("Links.receiver() was not given the inbox's handler")


def enabled_by_environment() -> bool:
    return os.environ.get(RELIABLE_ENV, "") not in ("", "0")


def is_link_frame(frame: Any) -> bool:
    view = memoryview(frame)
    return view.nbytes >= _PREFIX and view[:len(_MAGIC)] == _MAGIC


class _OutLink:
    __slots__ = ("link_id", "next_seq", "unacked", "peer", "progress")

    def __init__(self) -> None:
        self.link_id = os.urandom(8)
        self.next_seq = 0
        # seq -> [frames, last sent (monotonic), attempts]; insertion order is seq order.
        self.unacked: dict[int, list[Any]] = {}
        self.peer: bytes | None = None           # the receiver's incarnation, from its acks
        self.progress = time.monotonic()         # last ack that moved, or first send


class _InLink:
    __slots__ = ("link_id", "expected", "waiting", "holes", "gap_since")

    def __init__(self, link_id: bytes) -> None:
        self.link_id = link_id
        self.expected = 0
        self.waiting: dict[int, list[Any]] = {}  # arrived ahead of ``expected``
        self.holes: set[int] = set()             # skipped at a gap time-out; taken if late
        self.gap_since = 0.0


class Links:
    """The reliable-delivery state of one process's outbox and inbox."""

    def __init__(self, address: str, send: Send, direct: Send) -> None:
        self.address = address
        self.incarnation = os.urandom(8)
        self._send = send          # the wire (through the fault injector, if any)
        self._direct = direct      # to this process itself: never lost, nothing to number
        self._lock = threading.Lock()
        self._out: dict[str, _OutLink] = {}
        self._by_id: dict[bytes, str] = {}
        self._in: dict[str, _InLink] = {}
        self._retired: set[bytes] = set()   # ids of links replaced by newer ones (16 B each)
        self._acks_due: set[str] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._handle: Handler = _unset
        self.closed = False
        self.resent = 0            # figures for tests and reports
        self.duplicates = 0

    # ------------------------------------------------------------------ sending
    def send(self, address: str, frames: Sequence[Any]) -> None:
        if address == self.address:
            self._direct(address, frames)
            return
        with self._lock:
            link = self._out.get(address)
            if link is None:
                link = self._out[address] = _OutLink()
                self._by_id[link.link_id] = address
            seq = link.next_seq
            link.next_seq += 1
            header = (_MAGIC + _MESSAGE + _MSG_FIXED.pack(link.link_id, seq)
                      + self.address.encode())
            wired = [header, *frames]
            if not link.unacked:
                link.progress = time.monotonic()
            link.unacked[seq] = [wired, time.monotonic(), 1]
            self._start()
        self._send(address, wired)

    def forget(self, address: str) -> None:
        """The peer at ``address`` is gone: stop resending to it, and hand on (in order) what
        it sent that waits behind a gap it will never fill. Safe from any thread; the
        receiving side is settled on the loop (at once when called there)."""
        with self._lock:
            link = self._out.pop(address, None)
            if link is not None:
                self._by_id.pop(link.link_id, None)
        if address not in self._in:
            return
        loop = self._loop
        try:
            on_loop = loop is not None and asyncio.get_running_loop() is loop
        except RuntimeError:
            on_loop = False
        if on_loop:
            self._settle(address)
        elif loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self._settle, address)
            except RuntimeError:
                pass   # the loop closed meanwhile: the process is leaving

    def _settle(self, address: str) -> None:
        link = self._in.pop(address, None)
        if link is not None:
            self._retired.add(link.link_id)   # a late copy from it is not a new link
            self._flush(link)

    def _on_ack(self, view: memoryview) -> None:
        incarnation, link_id, expected, gap = _ACK_FIXED.unpack(view[_PREFIX:])
        with self._lock:
            address = self._by_id.get(link_id)
            link = self._out.get(address) if address is not None else None
            if link is None:
                return
            if link.peer is None:
                link.peer = incarnation
            elif link.peer != incarnation:
                # A new process behind the same address: what the old one did not take is
                # lost with it; number a new link from 0.
                del self._out[address]   # type: ignore[arg-type]
                del self._by_id[link_id]
                return
            unacked = link.unacked
            moved = False
            while unacked:
                seq = next(iter(unacked))
                if seq >= expected:
                    break
                del unacked[seq]
                moved = True
            now = time.monotonic()
            if moved:
                link.progress = now
            if gap and unacked:
                entry = unacked.get(expected)
                if entry is not None and now - entry[1] > _FAST_RESEND_AFTER:
                    entry[1] = float("-inf")   # the receiver waits for it: resend it now

    # ------------------------------------------------------------------ receiving
    def receiver(self, handle: Handler) -> Handler:
        """The inbox handler (on the receiving loop): unwraps link frames, puts each link's
        messages in order, drops duplicates, notes the acknowledgements due."""
        self._handle = handle
        return self._on_frames

    def _on_frames(self, frames: list[Any]) -> None:
        first = memoryview(frames[0])
        if first.nbytes < _PREFIX or first[:len(_MAGIC)] != _MAGIC:
            self._deliver(frames)   # not numbered: from this process, or a peer without links
            return
        if first[len(_MAGIC):_PREFIX] == _ACK:
            self._on_ack(first)
            return
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        link_id, seq = _MSG_FIXED.unpack(first[_PREFIX:_PREFIX + _MSG_FIXED.size])
        sender = bytes(first[_PREFIX + _MSG_FIXED.size:]).decode()
        link = self._in.get(sender)
        if link is None or link.link_id != link_id:
            if link_id in self._retired:
                return   # a late copy from a link given up: its messages were handed on
            if link is not None:      # the sender restarted, or started a new link
                self._retired.add(link.link_id)
                self._flush(link)
            link = self._in[sender] = _InLink(link_id)
        with self._lock:
            self._acks_due.add(sender)
            self._start()
        message = frames[1:]
        if seq < link.expected:
            if seq in link.holes:     # late, after its gap was given up on: still deliver
                link.holes.discard(seq)
                self._deliver(message)
            else:
                self.duplicates += 1
            return
        if seq > link.expected:
            if seq in link.waiting:
                self.duplicates += 1
                return
            if not link.waiting:
                link.gap_since = time.monotonic()
            link.waiting[seq] = message
            return
        self._deliver(message)
        link.expected += 1
        while link.expected in link.waiting:
            self._deliver(link.waiting.pop(link.expected))
            link.expected += 1
        if link.waiting:
            link.gap_since = time.monotonic()

    def _flush(self, link: _InLink) -> None:
        """Deliver, in order, what waits behind a gap that will not be filled; the missing
        numbers become holes (delivered if they still come)."""
        for seq in sorted(link.waiting):
            link.holes.update(range(link.expected, seq))
            link.expected = seq + 1
            self._deliver(link.waiting.pop(seq))

    def _deliver(self, message: list[Any]) -> None:
        if message_kind(message) == Kind.WORKER_DIED:
            # What the dead process sent before it died is handed on before the news of its
            # death, as it would have arrived on a network that loses nothing.
            address = _dead_address(message[0])
            if address is not None:
                self.forget(address)
        try:
            self._handle(message)
        except Exception:  # noqa: BLE001 - one failing handler must not stall the link
            traceback.print_exc()

    def _skip_gaps(self) -> None:
        now = time.monotonic()
        for link in list(self._in.values()):
            if link.waiting and now - link.gap_since > _GAP_TIMEOUT:
                self._flush(link)

    # ------------------------------------------------------------------ the timer thread
    def _start(self) -> None:
        # Called under the lock.
        if self._thread is None and not self.closed:
            self._thread = threading.Thread(target=self._run, name="actorium-links",
                                            daemon=True)
            self._thread.start()

    def close(self) -> None:
        self.closed = True

    def _run(self) -> None:
        while not self.closed:
            time.sleep(_TICK)
            try:
                self._tick()
            except Exception:  # noqa: BLE001 - the thread must outlive one bad tick
                traceback.print_exc(file=sys.stderr)

    def _tick(self) -> None:
        now = time.monotonic()
        resend: list[tuple[str, list[Any]]] = []
        acks: list[tuple[str, bytes]] = []
        with self._lock:
            for sender in self._acks_due:
                link_in = self._in.get(sender)
                if link_in is not None:
                    acks.append((sender, _MAGIC + _ACK + _ACK_FIXED.pack(
                        self.incarnation, link_in.link_id, link_in.expected,
                        bool(link_in.waiting))))
            self._acks_due.clear()
            for address, link in list(self._out.items()):
                if not link.unacked:
                    continue
                if now - link.progress > _GIVE_UP:
                    del self._out[address]
                    self._by_id.pop(link.link_id, None)
                    continue
                for entry in link.unacked.values():
                    wired, sent, attempts = entry
                    if now - sent >= min(_RESEND_AFTER * 2 ** (attempts - 1), _RESEND_MAX):
                        entry[1], entry[2] = now, attempts + 1
                        resend.append((address, wired))
        for address, ack in acks:
            self._send(address, [ack])
        for address, wired in resend:
            self.resent += 1
            self._send(address, wired)
        loop = self._loop
        if loop is not None and any(link.waiting and now - link.gap_since > _GAP_TIMEOUT
                                    for link in list(self._in.values())):
            try:
                loop.call_soon_threadsafe(self._skip_gaps)
            except RuntimeError:
                pass   # the loop is closed: the process is leaving


def _dead_address(frame: Any) -> str | None:
    """The inbox address a WORKER_DIED message names."""
    try:
        address = msgpack.unpackb(frame, raw=False)[2]
    except (ValueError, IndexError, TypeError, msgpack.UnpackException):
        return None
    return address if isinstance(address, str) else None


def message_kind(frames: Sequence[Any]) -> int:
    """The kind of a message (read from the first bytes of its msgpack header, no full
    decode), behind its link frame if it has one; -1 for an acknowledgement."""
    header = memoryview(frames[0])
    if is_link_frame(header):
        if len(frames) < 2:
            return -1
        header = memoryview(frames[1])
    if header.nbytes < 2:
        return -1
    first = header[0]
    if first & 0xF0 == 0x90:      # fixarray: the kind (a positive fixint) follows
        return int(header[1])
    if first == 0xDC and header.nbytes >= 4:   # array16
        return int(header[3])
    return -1
