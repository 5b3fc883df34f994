"""ActorPool: Ray's ordering, timeout and failure behaviour, and the async forms."""

from __future__ import annotations

import asyncio
import time

import pytest

import actorium as ray
from actorium.exceptions import ActorDiedError
from actorium.util import ActorPool

pytestmark = pytest.mark.usefixtures("runtime")


@ray.remote
class Worker:
    def __init__(self, name="w"):
        self.name = name
        self.done = 0

    def double(self, value):
        return value * 2

    def slow(self, value, seconds):
        time.sleep(seconds)
        return value

    def who(self, value):
        return (self.name, value)

    def fail(self, value):
        raise ValueError(f"bad {value}")

    def die(self, value):
        ray.exit_actor()
        return value


def double(actor, value):
    return actor.double.remote(value)


# Ray's documented ActorPool programs run in test_ray_programs.py.
def test_ray_util_path_imports_the_same_class():
    from actorium.util.actor_pool import ActorPool as FromModule
    assert FromModule is ActorPool and ray.util.ActorPool is ActorPool


# ---------------------------------------------------------------------- ordering
def test_map_returns_in_submission_order_even_when_later_values_finish_first():
    pool = ActorPool([Worker.remote(), Worker.remote()])
    delays = [0.4, 0.0, 0.2, 0.0]
    results = list(pool.map(lambda a, v: a.slow.remote(v, delays[v]), range(4)))
    assert results == [0, 1, 2, 3]


def test_map_unordered_returns_results_as_they_finish():
    pool = ActorPool([Worker.remote(), Worker.remote()])
    delays = {0: 1.5, 1: 0.0, 2: 0.0}
    results = list(pool.map_unordered(lambda a, v: a.slow.remote(v, delays[v]), [0, 1, 2]))
    assert sorted(results) == [0, 1, 2]
    assert results[-1] == 0   # the slow one, on its own actor, comes last


def test_values_beyond_the_pool_wait_and_each_actor_runs_one_call_at_a_time():
    workers = [Worker.remote(name) for name in ("a", "b")]
    pool = ActorPool(workers)
    for value in range(6):
        pool.submit(lambda a, v: a.who.remote(v), value)
    assert not pool.has_free()
    results = [pool.get_next() for _ in range(6)]
    assert [v for _, v in results] == list(range(6))
    assert {name for name, _ in results} == {"a", "b"}
    assert not pool.has_next()
    assert pool.has_free()


def test_get_next_after_get_next_unordered_is_refused():
    pool = ActorPool([Worker.remote(), Worker.remote()])
    pool.submit(lambda a, v: a.slow.remote(v, 1.0), "slow")
    pool.submit(double, 2)
    assert pool.get_next_unordered() == 4
    with pytest.raises(ValueError, match="get_next_unordered"):
        pool.get_next()


def test_nothing_to_get_raises_stop_iteration():
    pool = ActorPool([Worker.remote()])
    with pytest.raises(StopIteration):
        pool.get_next()
    with pytest.raises(StopIteration):
        pool.get_next_unordered()


# ---------------------------------------------------------------------- timeouts
def test_get_next_timeout_leaves_the_result_in_the_pool():
    pool = ActorPool([Worker.remote()])
    pool.submit(lambda a, v: a.slow.remote(v, 1.0), "late")
    with pytest.raises(TimeoutError):
        pool.get_next(timeout=0.05)
    assert pool.has_next()
    assert pool.get_next() == "late"


def test_ignore_if_timedout_drops_the_result_and_frees_the_actor():
    pool = ActorPool([Worker.remote()])
    pool.submit(lambda a, v: a.slow.remote(v, 1.0), "dropped")
    pool.submit(double, 21)
    with pytest.raises(TimeoutError, match="ignored"):
        pool.get_next(timeout=0.05, ignore_if_timedout=True)
    assert pool.get_next() == 42     # ran after the dropped call, on the freed actor
    assert not pool.has_next()


def test_get_next_unordered_timeout():
    pool = ActorPool([Worker.remote()])
    pool.submit(lambda a, v: a.slow.remote(v, 1.0), "x")
    with pytest.raises(TimeoutError):
        pool.get_next_unordered(timeout=0.05)
    assert pool.get_next_unordered() == "x"


# ---------------------------------------------------------------------- failures
def test_an_error_reaches_the_caller_and_the_actor_keeps_working():
    pool = ActorPool([Worker.remote()])
    pool.submit(lambda a, v: a.fail.remote(v), 1)
    pool.submit(double, 5)
    with pytest.raises(ValueError, match="bad 1"):
        pool.get_next()
    assert pool.get_next() == 10


def test_a_dead_actor_leaves_the_pool():
    dying, healthy = Worker.remote("dying"), Worker.remote("healthy")
    pool = ActorPool([healthy, dying])       # submit() takes the last idle actor first
    pool.submit(lambda a, v: a.die.remote(v), 0)
    with pytest.raises(ActorDiedError, match="exit_actor"):
        pool.get_next()                       # the exiting call fails, as in Ray
    results = list(pool.map(lambda a, v: a.who.remote(v), range(4)))
    assert {name for name, _ in results} == {"healthy"}
    assert pool.pop_idle() == healthy and pool.pop_idle() is None


def test_an_actor_killed_between_calls_leaves_the_pool():
    doomed, healthy = Worker.remote("doomed"), Worker.remote("healthy")
    assert ray.get([doomed.who.remote(0), healthy.who.remote(0)])
    pool = ActorPool([healthy, doomed])
    ray.kill(doomed)
    pool.submit(lambda a, v: a.who.remote(v), 1)   # goes to doomed: last in, first out
    with pytest.raises(ActorDiedError):
        pool.get_next()
    assert [name for name, _ in pool.map(lambda a, v: a.who.remote(v), range(3))] == \
        ["healthy"] * 3


def test_fn_must_return_a_ref():
    pool = ActorPool([Worker.remote()])
    with pytest.raises(TypeError, match="ObjectRef"):
        pool.submit(lambda a, v: v, 1)
    assert pool.has_free()   # the actor was not lost


# ---------------------------------------------------------------------- membership
def test_pop_idle_and_push():
    a1, a2 = Worker.remote(), Worker.remote()
    pool = ActorPool([a1])
    pool.submit(double, 1)
    assert pool.pop_idle() is None
    assert pool.get_next() == 2
    assert pool.pop_idle() == a1
    pool.push(a2)
    with pytest.raises(ValueError, match="already belongs"):
        pool.push(a2)
    assert list(pool.map(double, [3])) == [6]


def test_push_starts_waiting_work():
    pool = ActorPool([])
    pool.submit(double, 4)
    assert not pool.has_next()           # nothing runs without an actor (as in Ray)
    pool.push(Worker.remote())
    assert pool.get_next() == 8


# ---------------------------------------------------------------------- async forms
def test_async_forms_do_not_block_the_loop():
    pool = ActorPool([Worker.remote(), Worker.remote()])

    async def main():
        ticks = 0

        async def tick():
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticker = asyncio.ensure_future(tick())
        ordered = [x async for x in pool.map_async(lambda a, v: a.slow.remote(v, 0.1),
                                                   range(4))]
        unordered = [x async for x in pool.map_unordered_async(double, range(4))]
        pool.submit(lambda a, v: a.slow.remote(v, 1.0), "late")
        with pytest.raises(TimeoutError):
            await pool.get_next_async(timeout=0.05)
        late = await pool.get_next_unordered_async()
        ticker.cancel()
        return ordered, unordered, late, ticks

    ordered, unordered, late, ticks = asyncio.run(main())
    assert ordered == [0, 1, 2, 3]
    assert sorted(unordered) == [0, 2, 4, 6]
    assert late == "late"
    assert ticks > 5      # the loop kept running while results were awaited


def test_map_async_drops_what_earlier_submissions_left_without_blocking():
    pool = ActorPool([Worker.remote()])
    pool.submit(lambda a, v: a.slow.remote(v, 0.5), "forgotten")
    pool.submit(double, 100)        # waits for the actor: never runs

    async def main():
        return [x async for x in pool.map_async(double, [1, 2])]

    assert asyncio.run(main()) == [2, 4]
    assert not pool.has_next() and pool.has_free()


def test_map_drops_results_left_by_earlier_submissions():
    pool = ActorPool([Worker.remote()])
    pool.submit(double, 50)
    assert list(pool.map(double, [1])) == [2]


def test_async_errors_free_the_actor():
    pool = ActorPool([Worker.remote()])

    async def main():
        pool.submit(lambda a, v: a.fail.remote(v), 7)
        pool.submit(double, 8)
        with pytest.raises(ValueError, match="bad 7"):
            await pool.get_next_async()
        return await pool.get_next_async()

    assert asyncio.run(main()) == 16


def test_blocking_forms_refuse_to_run_inside_an_event_loop():
    pool = ActorPool([Worker.remote()])
    pool.submit(double, 1)

    async def main():
        with pytest.raises(ray.exceptions.BlockingCallInLoopError):
            pool.get_next()
        result = await pool.get_next_async()
        with pytest.raises(StopAsyncIteration):
            await pool.get_next_async()
        return result

    assert asyncio.run(main()) == 2
    assert not pool.has_next()
