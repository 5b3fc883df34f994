"""util.queue.Queue: Ray's API and semantics, and exactly-once delivery across processes."""

from __future__ import annotations

import asyncio
import collections
import os
import queue as stdlib_queue
import time

import pytest

import actorium as ray
from actorium.exceptions import ActorDiedError
from actorium.util.queue import Empty, Full, Queue

STOP = "stop"


# Ray's documented Queue programs run in test_ray_programs.py (ray_programs/queue_guide.py).


# ---------------------------------------------------------------------- the API
def test_nowait_forms_and_sizes(runtime):
    q = Queue(maxsize=2)
    assert q.empty() and not q.full() and len(q) == 0
    q.put_nowait(1)
    q.put_nowait(2)
    assert q.full() and q.qsize() == 2 and q.size() == 2
    with pytest.raises(Full):
        q.put_nowait(3)
    with pytest.raises(Full):
        q.put(3, block=False)
    assert q.get_nowait() == 1
    assert q.get(block=False) == 2
    with pytest.raises(Empty):
        q.get_nowait()
    q.shutdown()


def test_empty_and_full_are_the_standard_librarys_too(runtime):
    assert issubclass(Empty, stdlib_queue.Empty) and issubclass(Full, stdlib_queue.Full)
    assert issubclass(Empty, ray.exceptions.ActoriumError)


def test_blocking_timeouts_raise_after_waiting(runtime):
    q = Queue(maxsize=1)
    started = time.monotonic()
    with pytest.raises(Empty):
        q.get(timeout=0.3)
    assert time.monotonic() - started >= 0.3
    q.put("only")
    with pytest.raises(Full):
        q.put("more", timeout=0.2)
    assert q.get() == "only" and q.empty()   # the timed-out put added nothing
    q.shutdown()


def test_bad_arguments_are_refused(runtime):
    with pytest.raises(ValueError, match="maxsize"):
        Queue(maxsize=-1)
    q = Queue()
    with pytest.raises(ValueError, match="non-negative"):
        q.get(timeout=-1)
    with pytest.raises(ValueError, match="non-negative"):
        q.put(1, timeout=-1)
    with pytest.raises(ValueError, match="block=True"):
        q.get(block=False, timeout=1)
    with pytest.raises(TypeError, match="iterable"):
        q.put_nowait_batch(5)
    with pytest.raises(TypeError, match="int"):
        q.get_nowait_batch("2")
    with pytest.raises(ValueError, match=">= 0"):
        q.get_nowait_batch(-1)
    q.shutdown()


def test_batches_are_all_or_nothing(runtime):
    q = Queue(maxsize=3)
    q.put_nowait_batch([1, 2])
    with pytest.raises(Full, match="cannot add 2 items"):
        q.put_nowait_batch([3, 4])
    assert q.qsize() == 2
    with pytest.raises(Empty, match="cannot get 3 items"):
        q.get_nowait_batch(3)
    assert q.get_nowait_batch(2) == [1, 2]
    assert q.get_nowait_batch(0) == []
    q.shutdown()


def test_a_blocked_get_wakes_when_an_item_arrives_from_a_task(runtime):
    q = Queue()

    @ray.remote
    def produce(queue, item):
        time.sleep(0.2)
        queue.put(item)

    ref = produce.remote(q, "hello")
    assert q.get(timeout=20) == "hello"
    ray.get(ref)
    q.shutdown()


def test_a_blocked_put_waits_for_room(runtime):
    q = Queue(maxsize=1)
    q.put(1)

    @ray.remote
    def take_later(queue):
        time.sleep(0.3)
        return queue.get()

    ref = take_later.remote(q)
    started = time.monotonic()
    q.put(2, timeout=20)       # waits until the task took 1
    assert time.monotonic() - started >= 0.25
    assert ray.get(ref) == 1 and q.get_nowait() == 2
    q.shutdown()


def test_async_forms(runtime):
    q = Queue(maxsize=1)

    async def main():
        await q.put_async("a")
        with pytest.raises(Full):
            await q.put_async("b", block=False)
        with pytest.raises(Full):
            await q.put_async("b", timeout=0.1)
        first = await q.get_async()
        with pytest.raises(Empty):
            await q.get_async(block=False)
        with pytest.raises(Empty):
            await q.get_async(timeout=0.1)
        waiter = asyncio.ensure_future(q.get_async())
        await asyncio.sleep(0.1)
        await q.put_async("c")
        return first, await waiter

    assert asyncio.run(main()) == ("a", "c")
    q.shutdown()


def test_a_cancelled_get_async_leaves_its_item_in_the_queue(runtime):
    q = Queue()

    async def main():
        for _ in range(20):
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(q.get_async(), 0.01)
        await q.put_async("kept")
        # Cancel gets that race with the item being handed out: it must never be lost.
        for _ in range(20):
            try:
                item = await asyncio.wait_for(q.get_async(), 0.005)
            except TimeoutError:
                continue
            await q.put_async(item)
        return await q.get_async(timeout=10)

    assert asyncio.run(main()) == "kept"
    time.sleep(0.2)
    assert q.qsize() == 0
    q.shutdown()


def test_shutdown_fails_waiting_calls_and_later_use(runtime):
    q = Queue()

    @ray.remote
    def wait_for_item(queue):
        try:
            return queue.get()
        except ActorDiedError as error:
            return f"failed: {error}"

    ref = wait_for_item.remote(q)
    time.sleep(0.3)
    q.shutdown()
    assert ray.get(ref, timeout=20).startswith("failed")
    with pytest.raises(ActorDiedError, match="shut down"):
        q.put(1)
    q.shutdown()   # twice is harmless


def test_force_shutdown_kills_the_actor(runtime):
    q = Queue()
    actor = q.actor
    q.shutdown(force=True)
    with pytest.raises(ActorDiedError):
        ray.get(actor.qsize.remote(), timeout=20)


# ---------------------------------------------------------------------- exactly once
@ray.remote
def producer(queue, name, count):
    sent = 0
    while sent < count:
        if sent % 3 == 0 and count - sent >= 5:
            batch = [(name, n) for n in range(sent, sent + 5)]
            try:
                queue.put_nowait_batch(batch)
                sent += 5
                continue
            except Full:
                pass
        queue.put((name, sent), timeout=30)
        sent += 1
    return os.getpid()


@ray.remote
def consumer(queue):
    got = []
    while True:
        try:
            item = queue.get(timeout=0.05)     # give up often: a timed-out get takes nothing
        except Empty:
            continue
        if item == STOP:
            return os.getpid(), got
        got.append(item)


@ray.remote
class AsyncConsumer:
    async def drain(self, queue):
        got = []
        while True:
            try:   # cancelled gets often: each must leave its item behind
                item = await asyncio.wait_for(queue.get_async(), 0.02)
            except TimeoutError:
                continue
            if item == STOP:
                return os.getpid(), got
            got.append(item)


@pytest.mark.slow
@pytest.mark.multiprocess
def test_many_producers_and_consumers_in_different_processes_get_each_item_once(
        start_runtime):
    start_runtime(num_cpus=6)
    per_producer, producers, consumers = 400, 3, 3
    q = Queue(maxsize=50)
    sinks = [consumer.remote(q) for _ in range(consumers)]
    async_sink = AsyncConsumer.remote()
    async_result = async_sink.drain.remote(q)
    sources = [producer.remote(q, f"p{i}", per_producer) for i in range(producers)]
    for n in range(per_producer):         # the driver produces too
        q.put(("driver", n), timeout=30)
    producer_pids = ray.get(sources, timeout=120)
    for _ in range(consumers + 1):
        q.put(STOP, timeout=30)
    results = ray.get([*sinks, async_result], timeout=120)

    received = collections.Counter(item for _, got in results for item in got)
    expected = {(f"p{i}", n) for i in range(producers) for n in range(per_producer)}
    expected |= {("driver", n) for n in range(per_producer)}
    assert set(received) == expected                      # nothing lost
    assert max(received.values()) == 1                    # nothing delivered twice
    assert sum(received.values()) == len(expected)
    pids = {pid for pid, _ in results} | set(producer_pids) | {os.getpid()}
    assert len(pids) >= 4, "producers and consumers ran in several processes"
    assert all(got for _, got in results[:consumers]), "every consumer got some work"
    assert q.qsize() == 0
    q.shutdown()
