"""Generator tasks and methods return an ObjectRefGenerator whose items stream as they come."""

from __future__ import annotations

import asyncio
import time

import pytest

import actorium as ray
from actorium.exceptions import ActorDiedError, BlockingCallInLoopError, TaskError
from tests.polling import eventually


@ray.remote
def count_to(n: int, pause: float = 0.0):
    for i in range(n):
        if pause:
            time.sleep(pause)
        yield i * 10


@ray.remote
async def count_async(n: int):
    for i in range(n):
        await asyncio.sleep(0)
        yield f"item-{i}"


@ray.remote
class Plain:
    def numbers(self, n: int):
        yield from range(n)

    def fails_after(self, good: int):
        for i in range(good):
            yield i
        raise ValueError(f"broke after {good}")


@ray.remote
class Async:
    async def numbers(self, n: int):
        for i in range(n):
            await asyncio.sleep(0)
            yield i

    def plain_numbers(self, n: int):  # a sync generator of an async actor runs on its loop
        yield from range(n)


@ray.remote(max_concurrency=4)
class Threaded:
    def __init__(self) -> None:
        self.made = 0
        self.closed = False

    def endless(self):
        try:
            while True:
                self.made += 1
                yield self.made
        finally:
            self.closed = True

    def state(self) -> tuple[int, bool]:
        return self.made, self.closed


# ---------------------------------------------------------------------- iteration
def test_a_generator_task_returns_a_generator_of_refs(runtime):
    gen = count_to.remote(4)
    assert isinstance(gen, ray.ObjectRefGenerator)
    refs = list(gen)
    assert all(isinstance(ref, ray.ObjectRef) for ref in refs)
    assert ray.get(refs) == [0, 10, 20, 30]


def test_next_raises_stop_iteration_after_the_last_item(runtime):
    gen = count_to.remote(1)
    assert ray.get(next(gen)) == 0
    with pytest.raises(StopIteration):
        next(gen)
    with pytest.raises(StopIteration):
        next(gen)
    assert gen.is_finished()


def test_an_async_generator_task_streams_too(runtime):
    assert [ray.get(ref) for ref in count_async.remote(3)] == ["item-0", "item-1", "item-2"]


@pytest.mark.parametrize("actor_class, method", [
    (Plain, "numbers"), (Async, "numbers"), (Async, "plain_numbers")])
def test_generator_methods_of_every_kind_of_actor_stream(runtime, actor_class, method):
    actor = actor_class.remote()
    gen = getattr(actor, method).remote(5)
    assert [ray.get(ref) for ref in gen] == [0, 1, 2, 3, 4]


def test_a_threaded_actor_streams_while_it_answers_other_calls(runtime):
    actor = Threaded.remote()
    gen = actor.endless.remote()
    assert [ray.get(next(gen)) for _ in range(3)] == [1, 2, 3]
    made, _closed = ray.get(actor.state.remote())
    assert made >= 3


def test_streaming_is_the_default_and_can_be_asked_for(runtime):
    explicit = count_to.options(num_returns="streaming").remote(2)
    assert isinstance(explicit, ray.ObjectRefGenerator)
    assert ray.get(list(explicit)) == [0, 10]
    actor = Plain.remote()
    method = actor.numbers.options(num_returns="streaming").remote(2)
    assert ray.get(list(method)) == [0, 1]


def test_async_for_and_anext_read_the_stream_from_asyncio(runtime):
    actor = Async.remote()

    async def main() -> tuple[list[int], int]:
        seen = [await ref async for ref in actor.numbers.remote(4)]
        gen = count_to.remote(2)
        first = await (await gen.__anext__())
        return seen, first

    assert asyncio.run(main()) == ([0, 1, 2, 3], 0)


def test_next_on_a_running_event_loop_is_refused(runtime):
    gen = count_to.remote(1)

    async def main() -> None:
        next(gen)

    with pytest.raises(BlockingCallInLoopError):
        asyncio.run(main())


def test_the_first_item_is_readable_while_the_producer_still_runs(runtime):
    gen = count_to.remote(3, 1.0)   # ~3 s in all
    assert ray.get(next(gen)) == 0
    # The producer sleeps a second before each of the next two items: it cannot be done yet.
    ready, _ = ray.wait([gen.completed()], timeout=0)
    assert ready == []
    assert ray.get(list(gen)) == [10, 20]


def test_wait_says_a_generator_is_ready_when_its_next_item_is(runtime):
    gen = count_to.remote(2, 0.5)
    ready, not_ready = ray.wait([gen], timeout=0)
    assert ready == [] and not_ready == [gen]
    ready, _ = ray.wait([gen], timeout=30)
    assert ready == [gen]
    assert ray.get(next(gen)) == 0


def test_wait_mixes_refs_and_generators(runtime):
    done = ray.put(1)
    gen = count_to.remote(1, 5.0)
    ready, not_ready = ray.wait([gen, done], num_returns=1, timeout=10)
    assert ready == [done] and not_ready == [gen]


def test_a_generator_cannot_be_sent_to_another_process(runtime):
    gen = count_to.remote(1)

    @ray.remote
    def takes(value):
        return value

    with pytest.raises(TypeError, match="ObjectRefGenerator"):
        takes.remote(gen)
    list(gen)


def test_bad_num_returns_and_backpressure_values_name_the_option(runtime):
    with pytest.raises(ValueError, match="num_returns"):
        count_to.options(num_returns="stream")
    with pytest.raises(ValueError, match="_generator_backpressure_num_objects"):
        count_to.options(_generator_backpressure_num_objects=0)


# ---------------------------------------------------------------------- other shapes
def test_dynamic_returns_a_ref_to_a_dynamic_generator(runtime):
    ref = count_to.options(num_returns="dynamic").remote(3)
    assert isinstance(ref, ray.ObjectRef)
    dynamic = ray.get(ref)
    assert isinstance(dynamic, ray.DynamicObjectRefGenerator)
    assert len(dynamic) == 3
    assert ray.get(list(dynamic)) == [0, 10, 20]


def test_num_returns_n_with_a_generator_gives_n_refs(runtime):
    first, second = count_to.options(num_returns=2).remote(2)
    assert ray.get([first, second]) == [0, 10]
    actor = Async.remote()
    refs = actor.numbers.options(num_returns=3).remote(3)
    assert ray.get(refs) == [0, 1, 2]


# ---------------------------------------------------------------------- failures
def test_an_exception_comes_after_every_earlier_item(runtime):
    actor = Plain.remote()
    gen = actor.fails_after.remote(2)
    assert ray.get(next(gen)) == 0
    assert ray.get(next(gen)) == 1
    failing = next(gen)
    with pytest.raises(TaskError, match="broke after 2") as raised:
        ray.get(failing)
    assert isinstance(raised.value, ValueError)
    with pytest.raises(StopIteration):
        next(gen)


def test_the_actor_dying_mid_stream_fails_the_next_item(runtime):
    actor = Threaded.remote()
    gen = actor.endless.options(_generator_backpressure_num_objects=4).remote()
    assert ray.get(next(gen)) == 1
    ray.kill(actor)
    with pytest.raises(ActorDiedError):
        for ref in gen:
            ray.get(ref)


def test_cancel_stops_the_producer(runtime):
    actor = Threaded.remote()
    gen = actor.endless.options(_generator_backpressure_num_objects=8).remote()
    assert ray.get(next(gen)) == 1
    ray.cancel(gen)
    eventually(lambda: ray.get(actor.state.remote())[1])
    with pytest.raises(ray.exceptions.TaskCancelledError):
        for ref in gen:
            ray.get(ref)


def test_dropping_the_generator_stops_the_producer(runtime):
    actor = Threaded.remote()
    gen = actor.endless.options(_generator_backpressure_num_objects=8).remote()
    assert ray.get(next(gen)) == 1
    del gen
    eventually(lambda: ray.get(actor.state.remote())[1])
    made, _ = ray.get(actor.state.remote())
    time.sleep(0.3)
    assert ray.get(actor.state.remote())[0] == made   # it makes nothing more


# ---------------------------------------------------------------------- back-pressure
@ray.remote(max_concurrency=4)
class Feed:
    def __init__(self) -> None:
        self.made = 0

    def endless(self):
        while True:
            self.made += 1
            yield self.made

    def made_so_far(self) -> int:
        return self.made


def test_the_producer_pauses_when_the_consumer_is_behind(runtime):
    feed = Feed.remote()
    gen = feed.endless.options(_generator_backpressure_num_objects=10).remote()
    assert ray.get(next(gen)) == 1
    time.sleep(0.5)   # a consumer busy with something else
    assert ray.get(feed.made_so_far.remote()) <= 1 + 10
    ray.cancel(gen)


def test_an_endless_stream_runs_in_bounded_memory(runtime):
    feed = Feed.remote()
    gen = feed.endless.options(_generator_backpressure_num_objects=16).remote()
    objects = ray.get_runtime_context()._runtime.objects.entries
    most = 0
    for index, ref in enumerate(gen, start=1):
        assert ray.get(ref) == index
        most = max(most, len(objects))
        if index == 5000:
            break
    del ref
    ray.cancel(gen)
    # Read items are freed (released refs are applied every 50 ms, so some wait for that):
    # the table never held all 5000, and settles to a handful once the reader pauses.
    assert most < 4000
    eventually(lambda: len(objects) < 50)


# ---------------------------------------------------------------------- between processes
@ray.remote
class Relay:
    def total(self, source) -> int:
        return sum(ray.get(ref) for ref in source.numbers.remote(10))


@ray.remote
class AsyncRelay:
    async def total(self, source) -> int:
        return sum([await ref async for ref in source.numbers.remote(10)])


def test_an_actor_consumes_another_actors_stream(runtime):
    assert ray.get(Relay.remote().total.remote(Plain.remote())) == 45
    assert ray.get(AsyncRelay.remote().total.remote(Async.remote())) == 45


def test_a_retried_task_streams_every_item_once(runtime, tmp_path):
    marker = tmp_path / "crashed"

    @ray.remote(max_retries=1)
    def crashes_once(marker_path: str):
        import os
        for i in range(6):
            yield i
            if i == 2 and not os.path.exists(marker_path):
                open(marker_path, "w").close()
                time.sleep(0.2)   # let the first items reach the consumer
                os._exit(1)

    assert [ray.get(ref) for ref in crashes_once.remote(str(marker))] == list(range(6))
    assert marker.exists()
