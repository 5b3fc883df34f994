"""Async actors: calls run concurrently on the worker's loop, max_concurrency bounds them."""

from __future__ import annotations

import asyncio
import os
import threading
import time

import pytest

import actorium
from actorium.exceptions import TaskCancelledError

pytestmark = pytest.mark.usefixtures("runtime")


@actorium.remote
class Sleeper:
    def __init__(self):
        self.active = 0
        self.peak = 0

    async def nap(self, seconds):
        self.active += 1
        self.peak = max(self.peak, self.active)
        try:
            await asyncio.sleep(seconds)
        finally:
            self.active -= 1
        return seconds

    async def peak_concurrency(self):
        return self.peak

    def plain(self):
        return threading.current_thread().name, os.getpid()


@actorium.remote
class Store:
    def __init__(self):
        self.items = {}

    async def put(self, key, value):
        await asyncio.sleep(0)
        self.items[key] = value
        return len(self.items)

    async def get(self, key):
        return self.items.get(key)


@actorium.remote
class Aggregator:
    """An async actor that awaits calls to other actors."""

    def __init__(self, stores):
        self.stores = stores

    async def put_everywhere(self, key, value):
        return await asyncio.gather(*[s.put.remote(key, value) for s in self.stores])

    async def read_first(self, key):
        return await self.stores[0].get.remote(key)

    async def read_with_timeout(self, key):
        return await asyncio.wait_for(self.stores[0].get.remote(key), timeout=5)

    async def context_actor_id(self):
        await asyncio.sleep(0)
        return actorium.get_runtime_context().get_actor_id()


@actorium.remote
class Cancellable:
    def __init__(self):
        self.cancelled = 0

    async def wait_forever(self):
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise

    async def cancellations(self):
        return self.cancelled


@pytest.mark.timeout(30)
def test_an_async_actor_runs_a_hundred_sleeping_calls_concurrently():
    sleeper = Sleeper.remote()
    actorium.get(sleeper.peak_concurrency.remote())  # the actor is up
    started = time.monotonic()
    results = actorium.get([sleeper.nap.remote(0.5) for _ in range(100)], timeout=20)
    elapsed = time.monotonic() - started
    assert results == [0.5] * 100
    assert 0.5 <= elapsed < 2.5, f"100 concurrent 0.5 s naps took {elapsed:.2f} s"
    assert actorium.get(sleeper.peak_concurrency.remote()) == 100


@pytest.mark.timeout(30)
def test_max_concurrency_one_serializes_an_async_actor():
    sleeper = Sleeper.options(max_concurrency=1).remote()
    actorium.get(sleeper.peak_concurrency.remote())
    started = time.monotonic()
    actorium.get([sleeper.nap.remote(0.1) for _ in range(8)], timeout=20)
    elapsed = time.monotonic() - started
    assert elapsed >= 0.75, f"8 serialized 0.1 s naps took only {elapsed:.2f} s"
    assert actorium.get(sleeper.peak_concurrency.remote()) == 1


@pytest.mark.timeout(30)
def test_max_concurrency_bounds_an_async_actor():
    sleeper = Sleeper.options(max_concurrency=3).remote()
    actorium.get([sleeper.nap.remote(0.1) for _ in range(12)], timeout=20)
    assert actorium.get(sleeper.peak_concurrency.remote()) == 3


def test_plain_methods_of_an_async_actor_run_on_its_event_loop():
    sleeper = Sleeper.remote()
    thread_name, pid = actorium.get(sleeper.plain.remote())
    assert pid != os.getpid()
    assert not thread_name.startswith("actorium-sync")


def test_an_async_actor_keeps_its_state():
    store = Store.remote()
    assert actorium.get([store.put.remote(k, k * 2) for k in range(5)]) == [1, 2, 3, 4, 5]
    assert actorium.get(store.get.remote(3)) == 6


def test_an_async_actor_can_await_calls_to_other_actors():
    stores = [Store.remote() for _ in range(3)]
    aggregator = Aggregator.remote(stores)
    assert actorium.get(aggregator.put_everywhere.remote("k", "v"), timeout=20) == [1, 1, 1]
    assert actorium.get(aggregator.read_first.remote("k"), timeout=20) == "v"
    assert actorium.get(aggregator.read_with_timeout.remote("k"), timeout=20) == "v"
    assert actorium.get([s.get.remote("k") for s in stores]) == ["v", "v", "v"]


def test_the_runtime_context_inside_an_async_actor_names_the_actor():
    aggregator = Aggregator.remote([])
    assert actorium.get(aggregator.context_actor_id.remote()) == aggregator.actor_id


@pytest.mark.timeout(30)
def test_cancel_stops_a_running_async_actor_call():
    actor = Cancellable.remote()
    actorium.get(actor.cancellations.remote())
    ref = actor.wait_forever.remote()
    time.sleep(0.3)  # let it start
    actorium.cancel(ref)
    with pytest.raises(TaskCancelledError):
        actorium.get(ref, timeout=10)
    assert actorium.get(actor.cancellations.remote(), timeout=10) == 1


@pytest.mark.timeout(30)
def test_cancel_of_a_queued_async_call_skips_it_and_spares_the_running_one():
    sleeper = Sleeper.options(max_concurrency=1).remote()
    actorium.get(sleeper.peak_concurrency.remote())
    running = sleeper.nap.remote(0.5)
    queued = sleeper.nap.remote(0.01)
    time.sleep(0.1)
    actorium.cancel(queued)
    with pytest.raises(TaskCancelledError):
        actorium.get(queued, timeout=10)
    assert actorium.get(running, timeout=10) == 0.5
    assert actorium.get(sleeper.nap.remote(0.01), timeout=10) == 0.01
