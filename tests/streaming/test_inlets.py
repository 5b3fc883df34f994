"""A stream read by a blocked thread gets its items through an inlet (the thread's own datagram
socket), and through the inbox whenever the inlet cannot take one: the consumer still sees
every item once, in order, whatever mix of the two ways they came by."""

from __future__ import annotations

import asyncio
import os
import socket
import time

import pytest

import actorium as ray
from actorium._core import context
from actorium._transport.datagrams import Inlet, Outlet, Sent, inlet_path
from actorium.exceptions import ActorDiedError
from tests.polling import eventually


@ray.remote(max_concurrency=4)
class Source:
    def numbers(self, n: int):
        for i in range(n):
            yield i

    def slowly(self, n: int, pause: float):
        for i in range(n):
            time.sleep(pause)
            yield i

    def then_die(self, good: int, pause: float):
        for i in range(good):
            time.sleep(pause)
            yield i
        os._exit(1)

    def ready(self) -> bool:
        return True


def test_a_slow_reader_gets_every_item_in_order(runtime):
    # The producer runs far ahead: the inlet's queue (10 datagrams) fills and most items
    # take the inbox, interleaved with those that took the inlet.
    source = Source.remote()
    seen = []
    for position, ref in enumerate(source.numbers.remote(3000)):
        seen.append(ray.get(ref))
        if position % 200 == 0:
            time.sleep(0.02)
    assert seen == list(range(3000))


def test_switching_from_next_to_async_for_loses_no_item(runtime):
    source = Source.remote()
    gen = source.slowly.remote(60, 0.005)
    first = [ray.get(next(gen)) for _ in range(5)]   # items are sparse: the reader has an inlet
    time.sleep(0.2)   # the next items wait in the inlet meanwhile (the later ones, queue full,
                      # in the inbox)

    async def rest() -> list[int]:
        return [await ref async for ref in gen]

    assert first + asyncio.run(rest()) == list(range(60))


def test_wait_and_next_take_turns_on_one_stream(runtime):
    source = Source.remote()
    gen = source.numbers.remote(50)
    assert ray.get(next(gen)) == 0
    ready, _ = ray.wait([gen], timeout=30)
    assert ready == [gen]
    assert [ray.get(ref) for ref in gen] == list(range(1, 50))


def test_items_in_the_inlet_stay_readable_when_the_actor_dies(runtime):
    source = Source.remote()
    ray.get(source.ready.remote())
    gen = source.then_die.remote(6, 0.02)
    assert [ray.get(next(gen)) for _ in range(3)] == [0, 1, 2]   # items are sparse: an inlet
    time.sleep(0.5)   # the last three wait in the inlet; the actor is dead by now
    assert [ray.get(next(gen)) for _ in range(3)] == [3, 4, 5]
    with pytest.raises(ActorDiedError):
        ray.get(next(gen))


def _inlet_of(gen: ray.ObjectRefGenerator) -> str:
    path = inlet_path(context.current_runtime().address, bytes.fromhex(gen.task_id()))
    assert path is not None
    return path


def test_a_finished_or_dropped_stream_leaves_no_socket_file(runtime):
    source = Source.remote()
    gen = source.slowly.remote(20, 0.001)
    path = _inlet_of(gen)
    assert [ray.get(ref) for ref in gen] == list(range(20))
    assert not os.path.exists(path)
    gen = source.slowly.remote(10_000, 0.05)
    path = _inlet_of(gen)
    assert [ray.get(next(gen)) for _ in range(3)] == [0, 1, 2]
    assert os.path.exists(path)   # next() waited long for item 1: the stream got its inlet
    del gen
    eventually(lambda: not os.path.exists(path))


def test_a_datagram_without_the_token_is_dropped(runtime):
    source = Source.remote()
    gen = source.numbers.remote(3)
    path = _inlet_of(gen)
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as forger:
        try:
            forger.sendto(b"\x00" * 40 + b"not a message", path)
        except OSError:
            pass  # the stream may be over already: nothing to forge into
    assert [ray.get(ref) for ref in gen] == [0, 1, 2]


# ---------------------------------------------------------------------- the sockets
def test_closing_an_inlet_returns_what_it_held_and_refuses_more(tmp_path):
    path = str(tmp_path / "x.g1")
    outlet = Outlet()
    assert outlet.send(path, b"early") is Sent.ABSENT
    inlet = Inlet.open(path)
    assert inlet is not None
    try:
        sent = [outlet.send(path, b"item %d" % i) for i in range(12)]
        assert sent[0] is Sent.SENT and Sent.FULL in sent   # the queue holds a few only
        queued = sent.count(Sent.SENT)
        assert inlet.close() == [b"item %d" % i for i in range(queued)]
        assert outlet.send(path, b"late") is not Sent.SENT
        assert not os.path.exists(path)
        assert inlet.wait() is None
    finally:
        outlet.close()
        inlet.close()


def test_a_poke_wakes_the_waiting_thread_with_nothing(tmp_path):
    inlet = Inlet.open(str(tmp_path / "x.g2"))
    assert inlet is not None
    try:
        inlet.poke()
        assert inlet.wait() == b""
        assert inlet.ready() == []
    finally:
        inlet.close()


def test_streams_between_machines_have_no_inlet():
    assert inlet_path("tcp://10.0.0.1:5000", b"\x01" * 16) is None
    assert inlet_path("ipc:///tmp/" + "d" * 120 + ".sock", b"\x01" * 16) is None
