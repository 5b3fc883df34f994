"""Classic Ray Core tutorial programs run unchanged with ``import actorium as ray``."""

from __future__ import annotations

import time

import numpy as np
import pytest

import actorium as ray

pytestmark = pytest.mark.usefixtures("runtime")


# ---------------------------------------------------------------------- the Counter actor
@ray.remote
class Counter:
    def __init__(self):
        self.value = 0

    def increment(self):
        self.value += 1
        return self.value

    def get_counter(self):
        return self.value


def test_counter_actor():
    counter = Counter.remote()
    refs = [counter.increment.remote() for _ in range(10)]
    assert ray.get(refs) == list(range(1, 11))
    assert ray.get(counter.get_counter.remote()) == 10


def test_many_counters_each_count_on_their_own():
    counters = [Counter.remote() for _ in range(4)]
    [c.increment.remote() for c in counters]
    ray.get([c.increment.remote() for c in counters[:2]])
    assert ray.get([c.get_counter.remote() for c in counters]) == [2, 2, 1, 1]


# ---------------------------------------------------------------------- parallel tasks
@ray.remote
def f(i):
    time.sleep(1)
    return i


@pytest.mark.timeout(60)
def test_four_sleeping_tasks_run_in_parallel(start_runtime):
    start_runtime(num_cpus=4)
    ray.get([f.remote(-1) for _ in range(4)], timeout=30)  # workers up
    started = time.time()
    results = ray.get([f.remote(i) for i in range(4)])
    duration = time.time() - started
    assert results == [0, 1, 2, 3]
    assert duration < 1.9, f"4 x 1 s tasks on 4 CPUs took {duration:.2f} s"


# ---------------------------------------------------------------------- task dependencies
@ray.remote
def zeros(size):
    return np.zeros(size)


@ray.remote
def ones(size):
    return np.ones(size)


@ray.remote
def multiply(x, y):
    return np.dot(x, y)


def test_task_dependencies_with_numpy():
    result = ray.get(multiply.remote(zeros.remote((100, 100)), zeros.remote((100, 100))))
    assert result.shape == (100, 100)
    assert not result.any()
    result = ray.get(multiply.remote(ones.remote((3, 4)), ones.remote((4, 2))))
    assert np.array_equal(result, np.full((3, 2), 4.0))


def test_task_dependencies_with_large_arrays():
    a, b = ones.remote((300, 300)), ones.remote((300, 300))
    assert ray.get(multiply.remote(a, b), timeout=30)[0, 0] == 300.0


# ---------------------------------------------------------------------- map-reduce tree
@ray.remote
def map_chunk(chunk):
    return sum(x * x for x in chunk)


@ray.remote
def add(x, y):
    return x + y


def test_tree_reduction_of_a_map_with_refs():
    data = list(range(1000))
    chunks = [data[i:i + 50] for i in range(0, len(data), 50)]
    partials = [map_chunk.remote(chunk) for chunk in chunks]
    while len(partials) > 1:  # pairwise, passing refs: no value goes through the driver
        partials = [add.remote(partials[i], partials[i + 1]) if i + 1 < len(partials)
                    else partials[i] for i in range(0, len(partials), 2)]
    assert ray.get(partials[0], timeout=30) == sum(x * x for x in data)


@ray.remote
def word_count(text):
    counts = {}
    for word in text.split():
        counts[word] = counts.get(word, 0) + 1
    return counts


@ray.remote
def merge(*counts):
    total = {}
    for partial in counts:
        for word, count in partial.items():
            total[word] = total.get(word, 0) + count
    return total


def test_word_count_map_reduce():
    documents = ["a b a", "b c", "a c c", "d"]
    totals = ray.get(merge.remote(*[word_count.remote(d) for d in documents]), timeout=30)
    assert totals == {"a": 3, "b": 2, "c": 3, "d": 1}


# ---------------------------------------------------------------------- incremental with wait
@ray.remote
class Worker:
    """Sleeps without holding a CPU, so completion order is set by the delays alone."""

    async def work(self, seconds, name):
        import asyncio

        await asyncio.sleep(seconds)
        return name


@pytest.mark.timeout(30)
def test_incremental_processing_in_completion_order_with_wait():
    worker = Worker.remote()
    delays = [0.8, 0.1, 0.5, 0.3]
    refs = [worker.work.remote(d, f"task-{d}") for d in delays]
    processed = []
    while refs:
        done, refs = ray.wait(refs, num_returns=1)
        processed.append(ray.get(done[0]))
    assert processed == [f"task-{d}" for d in sorted(delays)]


@ray.remote
def slow_square(x):
    time.sleep(0.05 * x)
    return x * x


@pytest.mark.timeout(30)
def test_incremental_processing_sees_every_result_once():
    refs = [slow_square.remote(x) for x in range(8)]
    seen = []
    while refs:
        done, refs = ray.wait(refs, num_returns=min(2, len(refs)), timeout=20)
        seen.extend(ray.get(done))
    assert sorted(seen) == [x * x for x in range(8)]


# ---------------------------------------------------------------------- put once, use many
@ray.remote
def column_mean(matrix, column):
    return float(matrix[:, column].mean())


def test_put_a_large_array_once_and_pass_the_ref_to_ten_tasks():
    matrix = np.arange(100_000, dtype=np.float64).reshape(10_000, 10)
    matrix_ref = ray.put(matrix)
    means = ray.get([column_mean.remote(matrix_ref, c) for c in range(10)], timeout=30)
    assert means == [pytest.approx(float(matrix[:, c].mean())) for c in range(10)]


# ---------------------------------------------------------------------- actor pool pattern
@ray.remote
class Accumulator:
    def __init__(self):
        self.total = 0

    def add(self, value):
        self.total += value
        return self.total


def test_tasks_feed_an_actor_through_refs():
    accumulator = Accumulator.remote()
    for ref in [slow_square.remote(x) for x in range(5)]:
        accumulator.add.remote(ref)
    assert ray.get(accumulator.add.remote(0), timeout=30) == sum(x * x for x in range(5))


def test_error_handling_with_ray_exception_names():
    @ray.remote
    def fail():
        raise RuntimeError("tutorial failure")

    try:
        ray.get(fail.remote())
    except ray.exceptions.RayTaskError as error:
        assert isinstance(error, RuntimeError)
        assert "tutorial failure" in str(error)
    else:
        pytest.fail("no error raised")


def test_a_task_given_a_list_of_refs_gets_them_itself(runtime):
    # Ray's tree-reduce idiom: only top-level ref arguments are resolved before the call.
    @ray.remote
    def double(x):
        return 2 * x

    @ray.remote
    def total(refs):
        assert all(isinstance(ref, ray.ObjectRef) for ref in refs)
        return sum(ray.get(refs))

    @ray.remote
    def by_name(named):
        return ray.get(named["value"])

    assert ray.get(total.remote([double.remote(i) for i in range(5)])) == 20
    assert ray.get(by_name.remote({"value": double.remote(21)})) == 42
