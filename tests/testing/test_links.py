"""Reliable delivery per link (``_transport/links``): two processes' link layers joined by a
wire that loses, doubles and reorders messages; what reaches the receiver's handler is every
message once, in the order it was sent."""

from __future__ import annotations

import asyncio
import random
import threading

from actorium._transport.links import Links, message_kind
from actorium._transport.protocol import Kind, pack


class Wire:
    """Carries frames from one Links to another's receiver on the receiver's loop, losing,
    doubling and holding back a share of them."""

    def __init__(self, loop: asyncio.AbstractEventLoop, seed: int, lose: float = 0.25,
                 double: float = 0.1, hold: float = 0.1) -> None:
        self.loop = loop
        self.random = random.Random(seed)
        self.lock = threading.Lock()
        self.lose, self.double, self.hold = lose, double, hold
        self.receivers: dict[str, object] = {}
        self.lost = 0

    def sender(self, address_of_self: str):
        def send(address: str, frames) -> None:
            with self.lock:
                roll = self.random.random()
            receive = self.receivers[address]
            if self.loop.is_closed():
                return
            if roll < self.lose:
                self.lost += 1
                return
            copies = 2 if roll < self.lose + self.double else 1
            later = roll > 1 - self.hold
            for _ in range(copies):
                if later:
                    self.loop.call_soon_threadsafe(self.loop.call_later, 0.02, receive,
                                                   list(frames))
                else:
                    self.loop.call_soon_threadsafe(receive, list(frames))
        return send


def _pair(loop, seed, **faults):
    wire = Wire(loop, seed, **faults)
    got: dict[str, list[int]] = {"a": [], "b": []}

    def handler(name):
        return lambda frames: got[name].append(int(bytes(frames[1])))

    a = Links("a", wire.sender("a"), lambda address, frames: None)
    b = Links("b", wire.sender("b"), lambda address, frames: None)
    wire.receivers = {"a": a.receiver(handler("a")), "b": b.receiver(handler("b"))}
    return wire, a, b, got


def _message(n: int) -> list[bytes]:
    return [pack([Kind.TASK_RESULT, n]), str(n).encode()]


def test_every_message_arrives_once_and_in_order_over_a_wire_that_loses_a_quarter():
    async def scenario() -> tuple[dict[str, list[int]], int, int]:
        loop = asyncio.get_running_loop()
        wire, a, b, got = _pair(loop, seed=3)
        try:
            for n in range(300):
                a.send("b", _message(n))
                b.send("a", _message(n))
                if n % 10 == 0:
                    await asyncio.sleep(0.001)
            for _ in range(1000):
                if len(got["a"]) == len(got["b"]) == 300:
                    break
                await asyncio.sleep(0.01)
            return got, wire.lost, a.resent + b.resent
        finally:
            a.close()
            b.close()

    got, lost, resent = asyncio.run(scenario())
    assert lost > 50 and resent >= lost   # the wire did lose, and the links made it good
    assert got["b"] == list(range(300))
    assert got["a"] == list(range(300))


def test_messages_behind_a_gap_are_delivered_when_their_sender_is_reported_dead():
    async def scenario() -> list[int]:
        loop = asyncio.get_running_loop()
        wire, a, b, got = _pair(loop, seed=1, lose=0.0, double=0.0, hold=0.0)
        try:
            sent = []
            a_send = wire.sender("a")
            a._send = lambda address, frames: sent.append(list(frames))   # capture, not send
            for n in range(3):
                a.send("b", _message(n))
            receive = wire.receivers["b"]
            receive(sent[1])     # message 0 never arrives (its sender died)
            receive(sent[2])
            assert got["b"] == []
            # The node tells b that a's process died: what waited behind the gap goes first.
            b.receiver(lambda frames: got["b"].append(-1 if message_kind(frames) == Kind.WORKER_DIED
                                                      else int(bytes(frames[1]))))
            b_link = list(b._in)
            assert b_link == ["a"]
            receive([pack([Kind.WORKER_DIED, b"w", "a", "killed"])])
            del a_send
            return got["b"]
        finally:
            a.close()
            b.close()

    # Handed on before the news of the death, as they would have come on a lossless link.
    assert asyncio.run(scenario()) == [1, 2, -1]


def test_a_receiver_reborn_behind_the_same_address_gets_a_new_link_from_zero():
    async def scenario() -> list[int]:
        loop = asyncio.get_running_loop()
        wire, a, b, got = _pair(loop, seed=1, lose=0.0, double=0.0, hold=0.0)
        try:
            for n in range(5):
                a.send("b", _message(n))
            for _ in range(200):
                if len(got["b"]) == 5 and not a._out["b"].unacked:
                    break
                await asyncio.sleep(0.01)
            b.close()
            reborn = Links("b", wire.sender("b"), lambda address, frames: None)
            fresh: list[int] = []
            wire.receivers["b"] = reborn.receiver(lambda frames: fresh.append(
                int(bytes(frames[1]))))
            for n in range(5, 10):
                a.send("b", _message(n))
                await asyncio.sleep(0.05)
            for _ in range(300):
                if fresh[-1:] == [9]:
                    break
                await asyncio.sleep(0.01)
            reborn.close()
            return fresh
        finally:
            a.close()
            b.close()

    fresh = asyncio.run(scenario())
    # The first message to the new process waited behind messages 0-4 it never had; it
    # answered as a new incarnation, the sender started a new link: later messages flow.
    assert fresh[-1] == 9
    assert fresh == sorted(fresh)


def test_a_late_copy_from_a_link_the_sender_replaced_is_not_handed_on_again():
    async def scenario() -> list[int]:
        loop = asyncio.get_running_loop()
        wire, a, b, got = _pair(loop, seed=1, lose=0.0, double=0.0, hold=0.0)
        receive = wire.receivers["b"]
        wired = []
        a._send = lambda address, frames: (wired.append(list(frames)), receive(list(frames)))
        try:
            for n in range(3):
                a.send("b", _message(n))
            stale = wired[1]
            a.forget("b")              # e.g. its stream broke: the next message starts a link
            a.send("b", _message(3))
            receive(stale)             # a copy of message 1, late (a resend, a duplicate)
            a.send("b", _message(4))
            return got["b"]
        finally:
            a.close()
            b.close()

    assert asyncio.run(scenario()) == [0, 1, 2, 3, 4]
