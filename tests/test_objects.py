"""Objects: put/get, wait, refs as values, and refs shared by many tasks."""

from __future__ import annotations

import time

import numpy as np
import pytest

import actorium

pytestmark = pytest.mark.usefixtures("runtime")


@actorium.remote
def identity(value):
    return value


@actorium.remote
def length(value):
    return len(value)


@actorium.remote
def array_sum(array):
    return float(array.sum())


@actorium.remote
class Napper:
    """Slow values that hold no CPU (async naps), so waiting tests do not slow later ones."""

    async def nap(self, seconds, value):
        import asyncio

        await asyncio.sleep(seconds)
        return value


@pytest.fixture
def napper(runtime):
    return Napper.remote()


@actorium.remote
def get_nested(holder):
    """``holder`` is a list of refs inside a put value: they arrive as refs, not values."""
    return actorium.get(holder["refs"])


@actorium.remote
class Keeper:
    def __init__(self, ref_holder):
        self.ref = ref_holder[0]

    def read(self):
        return actorium.get(self.ref)


# ---------------------------------------------------------------------- put / get
@pytest.mark.parametrize("value", [
    0, -7, 2 ** 70, 3.5, "text", b"bytes", None, True, [1, [2, 3]], (1, "two"),
    {"a": 1, "b": [1, 2]}, {1, 2, 3}, frozenset({4}), b"x" * 200_000,
], ids=repr)
def test_put_then_get_returns_an_equal_value(value):
    got = actorium.get(actorium.put(value))
    assert got == value
    assert type(got) is type(value)


def test_put_returns_an_object_ref():
    ref = actorium.put(1)
    assert isinstance(ref, actorium.ObjectRef)
    assert isinstance(ref.hex(), str) and len(ref.hex()) > 0
    assert ref.binary() == bytes.fromhex(ref.hex())


def test_each_put_gives_a_distinct_ref():
    first, second = actorium.put(1), actorium.put(1)
    assert first != second
    assert first == first
    assert len({first, second}) == 2


def test_a_put_value_is_a_snapshot_of_the_value_at_put_time():
    value = [1, 2, 3]
    ref = actorium.put(value)
    value.append(4)
    assert actorium.get(ref) == [1, 2, 3]


def test_a_large_numpy_array_round_trips_through_put():
    array = np.arange(1_000_000, dtype=np.float64).reshape(1000, 1000)
    got = actorium.get(actorium.put(array))
    assert got.dtype == array.dtype
    assert got.shape == array.shape
    assert np.array_equal(got, array)


def test_a_put_ref_passed_to_ten_tasks_gives_each_the_same_value():
    array = np.random.default_rng(0).random(500_000)
    ref = actorium.put(array)
    sums = actorium.get([array_sum.remote(ref) for _ in range(10)], timeout=30)
    assert sums == [pytest.approx(float(array.sum()))] * 10


@pytest.mark.timeout(60)
def test_a_put_ref_shared_by_hundreds_of_tasks_resolves_for_every_one():
    # Each round: one put value, 200 tasks reading it on the 2 workers, back to back.
    for _ in range(10):
        ref = actorium.put(np.arange(200_000, dtype=np.float64))
        sums = actorium.get([array_sum.remote(ref) for _ in range(200)], timeout=30)
        assert sums == [float(np.arange(200_000, dtype=np.float64).sum())] * 200


def test_a_put_ref_passed_to_an_actor_is_resolved():
    ref = actorium.put("shared")

    @actorium.remote
    class Reader:
        def read(self, value):
            return value

    assert actorium.get(Reader.remote().read.remote(ref)) == "shared"


def test_refs_inside_a_put_value_stay_refs_and_can_be_fetched_remotely():
    inner = [actorium.put(i) for i in range(3)]
    holder = actorium.put({"refs": inner})
    assert actorium.get(get_nested.remote(holder), timeout=20) == [0, 1, 2]
    got = actorium.get(holder)
    assert all(isinstance(r, actorium.ObjectRef) for r in got["refs"])


def test_an_actor_can_keep_a_ref_and_read_it_later():
    ref = identity.remote("remembered")
    keeper = Keeper.remote(actorium.put([ref]))  # a ref inside a put value stays a ref
    del ref
    assert actorium.get(keeper.read.remote(), timeout=20) == "remembered"


def test_a_task_result_is_readable_many_times():
    ref = identity.remote([1, 2])
    assert actorium.get(ref) == [1, 2]
    assert actorium.get(ref) == [1, 2]
    assert actorium.get([ref, ref]) == [[1, 2], [1, 2]]


def test_a_large_task_result_round_trips():
    payload = b"z" * 5_000_000
    assert actorium.get(length.remote(identity.remote(payload)), timeout=30) == 5_000_000


# ---------------------------------------------------------------------- wait
def test_wait_returns_ready_and_not_ready_in_submission_order(napper):
    slow = napper.nap.remote(2.0, "slow")
    fast = [identity.remote(i) for i in range(3)]
    refs = [slow, *fast]
    ready, not_ready = actorium.wait(refs, num_returns=3, timeout=20)
    assert ready == fast
    assert not_ready == [slow]


def test_wait_defaults_to_one_ready_ref(napper):
    refs = [identity.remote(1), napper.nap.remote(2.0, "x")]
    ready, not_ready = actorium.wait(refs, timeout=20)
    assert ready == [refs[0]]
    assert not_ready == [refs[1]]


def test_wait_returns_at_most_num_returns_ready_refs():
    refs = [actorium.put(i) for i in range(5)]
    ready, not_ready = actorium.wait(refs, num_returns=2)
    assert ready == refs[:2]
    assert not_ready == refs[2:]


def test_wait_for_all_returns_every_ref_once_ready():
    refs = [identity.remote(i) for i in range(6)]
    ready, not_ready = actorium.wait(refs, num_returns=len(refs), timeout=20)
    assert ready == refs
    assert not_ready == []


@pytest.mark.timeout(30)
def test_wait_with_a_timeout_returns_what_is_ready_then(napper):
    refs = [napper.nap.remote(1.5, "late"), actorium.put("now")]
    started = time.monotonic()
    ready, not_ready = actorium.wait(refs, num_returns=2, timeout=0.2)
    assert time.monotonic() - started < 1.0
    assert ready == [refs[1]]
    assert not_ready == [refs[0]]


def test_wait_with_timeout_zero_does_not_block(napper):
    slow = napper.nap.remote(1.0, "x")
    started = time.monotonic()
    ready, not_ready = actorium.wait([slow], timeout=0)
    assert time.monotonic() - started < 0.5
    assert (ready, not_ready) == ([], [slow])


def test_wait_counts_failed_refs_as_ready():
    @actorium.remote
    def fails():
        raise ValueError("x")

    failed = fails.remote()
    ready, _ = actorium.wait([failed], timeout=20)
    assert ready == [failed]


def test_wait_of_an_empty_list_returns_two_empty_lists():
    assert actorium.wait([], num_returns=0) == ([], [])


def test_wait_rejects_a_single_ref_and_non_refs():
    with pytest.raises(TypeError):
        actorium.wait(actorium.put(1))
    with pytest.raises(TypeError):
        actorium.wait([1, 2])


def test_wait_rejects_duplicate_refs():
    ref = actorium.put(1)
    with pytest.raises(ValueError):
        actorium.wait([ref, ref])


@pytest.mark.parametrize("num_returns", [-1, 3])
def test_wait_rejects_num_returns_outside_the_list(num_returns):
    with pytest.raises(ValueError, match="num_returns"):
        actorium.wait([actorium.put(1), actorium.put(2)], num_returns=num_returns)


# ---------------------------------------------------------------------- incremental results
@pytest.mark.timeout(30)
def test_processing_results_in_completion_order_with_wait(napper):
    delays = {"c": 0.9, "a": 0.1, "b": 0.5}
    pending = [napper.nap.remote(d, name) for name, d in delays.items()]
    order = []
    while pending:
        ready, pending = actorium.wait(pending, timeout=20)
        order.extend(actorium.get(ready))
    assert order == ["a", "b", "c"]


def test_a_worker_lets_go_of_argument_objects_once_the_calls_are_done():
    # Arguments are pinned while a call runs; the pin must be given back afterwards, or a
    # long-lived actor would keep every value it was ever passed.
    @actorium.remote
    class Holder:
        def size(self, value):
            return len(value)

        def objects_held(self):
            import time

            from actorium._core.context import current_runtime
            time.sleep(0.2)  # two rounds of the 50 ms release drain
            return len(current_runtime().objects.entries)

    holder = Holder.remote()
    baseline = actorium.get(holder.objects_held.remote())
    for _ in range(20):
        ref = actorium.put(b"x" * 200_000)
        assert actorium.get(holder.size.remote(ref)) == 200_000
        del ref
    assert actorium.get(holder.objects_held.remote()) <= baseline + 2
