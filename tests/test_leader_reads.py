"""A thread blocked in get() reads its own reply (leader/follower, ``Inbox.lead``) and keeps
every guarantee of the loop's reading: nothing it reads overtakes what it handed to the loop,
forged messages are dropped, a completion from elsewhere (a death, a cancellation, another
thread's result) ends its wait, one thread leads at a time, the loop reads again once it
stops, and closing the inbox under a leader ends the lead."""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import zmq

from actorium._transport import local
from actorium._transport.auth import FrameAuth
from actorium.exceptions import ActorDiedError, GetTimeoutError, TaskCancelledError
from tests.polling import eventually
from tests.test_local_streams import TOKEN, Receiver

pytestmark = [pytest.mark.timeout(120),
              pytest.mark.skipif(not local.LEADING, reason="leader reads need epoll")]


@pytest.fixture
def receiver(ctx: zmq.Context[Any], tmp_path: Any) -> Iterator[Receiver]:
    """An inbox whose loop handler records (message, thread); a leader takes b"fast..."."""
    box = Receiver(ctx, f"ipc://{tmp_path}/inbox.sock", start=False)
    box.seen = []   # type: ignore[attr-defined]

    def on_loop(frames: list[Any]) -> None:
        box.seen.append((bytes(frames[0]), threading.get_ident()))   # type: ignore[attr-defined]
        box.inbox.wake()   # as a get()'s count-down does when the loop completes its entry

    def off_loop(frames: list[Any]) -> bool:
        if not bytes(frames[0]).startswith(b"fast"):
            return False
        box.seen.append((bytes(frames[0]), threading.get_ident()))   # type: ignore[attr-defined]
        return True

    box.inbox._on_message = on_loop
    box.inbox.off_loop = off_loop
    box.start()
    yield box
    box.close()


def _writer(path: str) -> socket.socket:
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.connect(path)
    return conn


def _send(conn: socket.socket, frames: list[bytes]) -> None:
    signed = FrameAuth(TOKEN).sign(frames)
    conn.sendall(struct.pack(f"<I{len(signed)}Q", len(signed), *map(len, signed))
                 + b"".join(signed))


def _leading(box: Receiver) -> bool:
    """True once a thread leads: it has the connections and takes what is read."""
    listener = box.inbox._listener
    return listener._dispatch != listener._deliver


def _lead_in_thread(receiver: Receiver, done: Any, timeout: float | None = 60
                    ) -> tuple[threading.Thread, list[Any]]:
    outcome: list[Any] = []

    def lead() -> None:
        outcome.append(threading.get_ident())
        outcome.append(receiver.inbox.lead(done, timeout))

    thread = threading.Thread(target=lead)
    thread.start()
    return thread, outcome


def test_what_a_leader_reads_never_overtakes_what_it_handed_to_the_loop(receiver):
    path = local.stream_path(receiver.inbox.address)
    first = [b"fast-first-%d" % i for i in range(20)]   # nothing handed yet: the leader's
    mixed = [b"%s-%d" % (b"fast" if i % 3 else b"slow", i) for i in range(600)]
    expected = first + mixed
    thread, outcome = _lead_in_thread(receiver, lambda: len(receiver.seen) == len(expected))
    eventually(lambda: _leading(receiver), timeout=30)
    with _writer(path) as conn:
        for name in expected:
            _send(conn, [name])
        thread.join(60)
    assert outcome[1] is True
    assert [name for name, _thread in receiver.seen] == expected
    leader = outcome[0]
    assert {thread for _name, thread in receiver.seen[:len(first)]} == {leader}
    assert leader not in {thread for name, thread in receiver.seen if name.startswith(b"slow")}


def test_a_leader_drops_forged_messages_and_keeps_reading(receiver):
    path = local.stream_path(receiver.inbox.address)
    thread, outcome = _lead_in_thread(receiver, lambda: bool(receiver.seen))
    eventually(lambda: _leading(receiver), timeout=30)
    with _writer(path) as forger:
        forged = FrameAuth("another-token").sign([b"fast-forged"])[0]
        forger.sendall(struct.pack("<IQ", 1, len(forged)) + forged)
        eventually(lambda: receiver.auth.rejected == 1, timeout=30)
    assert receiver.seen == []
    with _writer(path) as conn:
        _send(conn, [b"fast-real"])
        thread.join(60)
    assert [name for name, _thread in receiver.seen] == [b"fast-real"]


def test_one_thread_leads_at_a_time_and_wake_ends_its_wait(receiver):
    stop = threading.Event()
    thread, outcome = _lead_in_thread(receiver, stop.is_set, timeout=None)
    eventually(lambda: _leading(receiver), timeout=30)
    assert receiver.inbox.lead(lambda: False, 30) is False   # a follower waits as usual
    stop.set()
    receiver.inbox.wake()
    thread.join(60)
    assert not thread.is_alive() and outcome[1] is True


def test_the_loop_reads_again_once_the_leader_stops(receiver):
    assert receiver.inbox.lead(lambda: False, 0.05) is True   # times out: nothing came
    path = local.stream_path(receiver.inbox.address)
    with _writer(path) as conn:
        _send(conn, [b"fast-after"])
        _send(conn, [b"slow-after"])
        eventually(lambda: len(receiver.seen) == 2, timeout=30)
    loop_thread = receiver.loop.thread.ident
    assert receiver.seen == [(b"fast-after", loop_thread), (b"slow-after", loop_thread)]


def test_closing_the_inbox_ends_a_lead(ctx, tmp_path):
    box = Receiver(ctx, f"ipc://{tmp_path}/inbox.sock")
    box.inbox.off_loop = lambda frames: False
    thread, outcome = _lead_in_thread(box, lambda: False, timeout=None)
    eventually(lambda: _leading(box), timeout=30)
    box.close()
    thread.join(60)
    assert not thread.is_alive() and outcome[1] is True


# ---------------------------------------------------------------- through a runtime
@pytest.mark.timeout(90)
def test_a_blocked_get_fills_its_own_result_on_its_own_thread(runtime, monkeypatch):
    from actorium._core.context import current_runtime

    objects = current_runtime().objects
    filled_on: list[int] = []
    complete = objects.complete_off_loop

    def recording(values: Any) -> Any:
        filled_on.append(threading.get_ident())
        return complete(values)

    monkeypatch.setattr(objects, "complete_off_loop", recording)

    @runtime.remote
    class Echo:
        def echo(self, value):
            return value

    echo = Echo.remote()
    assert [runtime.get(echo.echo.remote(n)) for n in range(50)] == list(range(50))
    assert threading.get_ident() in filled_on


@pytest.mark.timeout(90)
def test_threads_blocked_in_get_together_each_get_their_own_results(runtime):
    @runtime.remote
    class Echo:
        def echo(self, value):
            return value

    actors = [Echo.remote() for _ in range(3)]
    wrong: list[Any] = []

    def caller(index: int) -> None:
        for n in range(300):
            got = runtime.get(actors[index].echo.remote((index, n)))
            if got != (index, n):
                wrong.append(got)

    threads = [threading.Thread(target=caller, args=(i,)) for i in range(len(actors))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert wrong == [] and not any(thread.is_alive() for thread in threads)


def _slow_actor(runtime):   # type: ignore[no-untyped-def]
    """An actor whose ``wait(seconds)`` sleeps, then returns ``seconds`` (a fresh class
    each time: defined in a function, it travels by value, not by this test module)."""
    @runtime.remote
    class Slow:
        def wait(self, seconds):
            time.sleep(seconds)
            return seconds

    return Slow.remote()


@pytest.mark.timeout(90)
def test_a_blocked_get_fails_when_its_queued_call_is_cancelled(runtime):
    slow = _slow_actor(runtime)
    busy = slow.wait.remote(2)
    queued = slow.wait.remote(0)
    threading.Timer(0.3, runtime.cancel, args=(queued,)).start()
    with pytest.raises(TaskCancelledError):
        runtime.get(queued)
    assert runtime.get(busy) == 2


@pytest.mark.timeout(90)
def test_a_blocked_get_learns_that_its_actor_died(runtime):
    slow = _slow_actor(runtime)
    ref = slow.wait.remote(60)
    threading.Timer(0.3, runtime.kill, args=(slow,)).start()
    with pytest.raises(ActorDiedError):
        runtime.get(ref)


@pytest.mark.timeout(90)
def test_after_a_get_times_out_results_and_awaits_still_arrive(runtime):
    slow = _slow_actor(runtime)
    ref = slow.wait.remote(1)
    with pytest.raises(GetTimeoutError):
        runtime.get(ref, timeout=0.1)

    async def awaited() -> Any:
        return await slow.wait.remote(0)

    assert asyncio.run(awaited()) == 0
    assert runtime.get(ref) == 1


@pytest.mark.timeout(90)
def test_a_blocked_get_reads_a_streams_items_in_order(runtime):
    @runtime.remote
    class Counter:
        def count(self, n):
            yield from range(n)

    counter = Counter.remote()
    stream = counter.count.options(num_returns="streaming").remote(300)
    assert [runtime.get(ref) for ref in stream] == list(range(300))


@pytest.mark.timeout(60)
def test_a_blocked_get_wakes_when_the_loop_completes_its_result(runtime):
    # A result holding a ref needs the loop (borrowing): the leader hands it over, and the
    # loop's completion must wake the leader, which sleeps on the sockets, not on a lock.
    @runtime.remote
    class Maker:
        def make(self):
            return [runtime.put(7)]

    maker = Maker.remote()
    for _ in range(5):
        inner = runtime.get(maker.make.remote(), timeout=20)
        assert runtime.get(inner[0]) == 7
