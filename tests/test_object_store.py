"""The shared-memory object store: zero-copy reads, freeing, spilling, running out of room."""

from __future__ import annotations

import gc
import os
import signal
import time

import numpy as np
import pytest

import actorium
from actorium._core import context
from actorium.exceptions import OutOfMemoryError, WorkerCrashedError
from actorium.util import list_objects, memory_summary

MIB = 2**20


def store_dir() -> str:
    return context.current_runtime().object_store.dir


def mapped_file_of(array: np.ndarray) -> str | None:
    """The file backing the memory at the array's buffer address, from /proc/self/maps."""
    address = array.__array_interface__["data"][0]
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split(maxsplit=5)
            start, end = (int(part, 16) for part in fields[0].split("-"))
            if start <= address < end:
                return fields[5].strip() if len(fields) > 5 else ""
    return None


def wait_until_store_is_empty(timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        gc.collect()
        summary = memory_summary()
        if summary.used == 0 and not summary.objects:
            return
        if time.monotonic() > deadline:
            table = context.current_runtime().objects
            counts = {object_id.hex(): (entry.local_refs, entry.pins, entry.borrowers)
                      for object_id, entry in table.entries.items() if entry.stored}
            raise AssertionError(f"the store still holds objects:\n{summary}\n"
                                 f"(local refs, pins, borrowers): {counts}")
        time.sleep(0.1)


@actorium.remote
def where_is(array):
    """Where the task's argument lives in the task's process, and whether it is writable."""
    return mapped_file_of(array), bool(array.flags.writeable), float(array.sum())


@actorium.remote
def make_array(size):
    return np.full(size // 8, 2.0)


@actorium.remote
def total(array):
    if not isinstance(array, np.ndarray):
        array = np.frombuffer(array, dtype=np.uint8)
    return float(array.sum())


@actorium.remote
def read_then_die(array):
    assert array.sum() > 0
    os.kill(os.getpid(), signal.SIGKILL)


@actorium.remote
class Holder:
    def __init__(self):
        self.refs = []

    def keep(self, boxed_refs):
        self.refs.extend(boxed_refs)
        return len(self.refs)

    def total(self):
        return sum(float(actorium.get(ref).sum()) for ref in self.refs)

    def forget(self):
        self.refs = []


# ---------------------------------------------------------------------- zero copy
def test_get_of_a_large_array_is_a_read_only_view_of_shared_memory(runtime):
    array = np.arange(MIB, dtype=np.float64)
    ref = actorium.put(array)
    first, second = actorium.get(ref), actorium.get(ref)
    backing = mapped_file_of(first)
    assert backing is not None and backing.startswith(store_dir())
    assert not first.flags.writeable
    # Two gets share one buffer: the payload was not copied (nor unpickled) again.
    assert first.__array_interface__["data"][0] == second.__array_interface__["data"][0]
    np.testing.assert_array_equal(first, array)
    del first, second, ref
    wait_until_store_is_empty()


def test_put_stores_a_snapshot_not_the_callers_array(runtime):
    array = np.zeros(MIB // 8)
    ref = actorium.put(array)
    array[0] = 42.0
    assert actorium.get(ref)[0] == 0.0


def test_small_values_stay_out_of_the_store(runtime):
    ref = actorium.put(np.zeros(1000))
    assert actorium.get(ref).sum() == 0
    assert ref.hex() not in {info.object_id for info in list_objects()}


def test_a_task_reads_a_put_array_in_place(runtime):
    ref = actorium.put(np.ones(MIB // 8))
    backing, writable, value = actorium.get(where_is.remote(ref), timeout=30)
    assert backing is not None and backing.startswith(store_dir())
    assert not writable and value == MIB // 8


def test_a_large_argument_passed_directly_is_stored_and_read_in_place(runtime):
    backing, writable, value = actorium.get(where_is.remote(np.ones(MIB // 8)), timeout=30)
    assert backing is not None and backing.startswith(store_dir())
    assert not writable and value == MIB // 8
    wait_until_store_is_empty()


def test_a_large_task_result_is_read_in_place_by_the_caller(runtime):
    wait_until_store_is_empty()
    # The ref is kept: once it is dropped, the owner forgets the object at its next release
    # drain (every 50 ms), and whether that came before list_objects() was down to timing.
    ref = make_array.remote(4 * MIB)
    result = actorium.get(ref, timeout=30)
    assert mapped_file_of(result).startswith(store_dir())
    assert result.sum() == 2.0 * (4 * MIB // 8)
    owned = [info for info in list_objects() if info.ref_count is not None]
    assert len(owned) == 1 and owned[0].where == "memory"


def test_bytes_bytearrays_and_memoryviews_round_trip_through_the_store(runtime):
    data = bytes(range(256)) * 4096
    assert actorium.get(actorium.put(data)) == data
    assert actorium.get(actorium.put(bytearray(data))) == bytearray(data)
    view = actorium.get(actorium.put(memoryview(data)))
    assert isinstance(view, memoryview) and view.readonly and view == memoryview(data)
    assert actorium.get(total.remote(actorium.put(bytearray(data)))) == \
        float(np.frombuffer(data, dtype=np.uint8).sum())
    assert actorium.get(total.remote(np.frombuffer(bytearray(data), dtype=np.uint8))) == \
        float(np.frombuffer(data, dtype=np.uint8).sum())


# ---------------------------------------------------------------------- freeing
def test_store_usage_returns_to_zero_when_refs_are_dropped(runtime):
    wait_until_store_is_empty()
    refs = [actorium.put(np.ones(MIB // 8)) for _ in range(5)]
    refs.append(make_array.remote(2 * MIB))
    assert actorium.get(total.remote(refs[0]), timeout=30) == MIB // 8
    actorium.wait(refs[-1:], timeout=30)   # the task's result may come after total's
    assert memory_summary().used >= 6 * MIB
    views = actorium.get(refs, timeout=30)
    del refs
    gc.collect()
    # Views still alive keep reading their memory after the objects were freed.
    assert sum(float(view.sum()) for view in views) == 5 * (MIB // 8) + 2.0 * (2 * MIB // 8)
    del views
    wait_until_store_is_empty()
    assert [name for name in os.listdir(store_dir()) if not name.startswith(".")] == []


def test_refs_passed_through_tasks_and_actors_are_freed_when_all_are_dropped(runtime):
    wait_until_store_is_empty()
    holder = Holder.remote()
    ref = actorium.put(np.ones(MIB // 8))
    # A ref inside a put value arrives as a ref (top-level refs arrive as their values).
    assert actorium.get(holder.keep.remote(actorium.put([ref])), timeout=30) == 1
    del ref
    gc.collect()
    time.sleep(0.5)
    assert len(memory_summary().objects) == 1   # the actor still holds it
    assert actorium.get(holder.total.remote(), timeout=30) == MIB // 8
    actorium.get(holder.forget.remote(), timeout=30)
    wait_until_store_is_empty()


def test_a_ref_nested_in_a_stored_object_lives_as_long_as_the_object(runtime):
    inner = actorium.put(np.ones(MIB // 8))
    outer = actorium.put({"inner": inner, "padding": np.zeros(MIB // 8)})
    del inner
    gc.collect()
    time.sleep(0.3)
    nested = actorium.get(outer)["inner"]
    assert actorium.get(nested).sum() == MIB // 8
    del nested, outer
    wait_until_store_is_empty()


@pytest.mark.slow
def test_a_long_loop_of_put_and_drop_does_not_grow_the_store(runtime):
    peak = 0
    for index in range(300):
        ref = actorium.put(np.full(MIB // 8, float(index)))
        assert actorium.get(ref)[0] == index
        del ref
        peak = max(peak, memory_summary().used)
    assert peak < 100 * MIB   # freed as it goes (the loop drains releases every 50 ms)
    wait_until_store_is_empty()


# ---------------------------------------------------------------------- capacity
@pytest.mark.multiprocess
def test_a_full_store_spills_idle_objects_and_restores_them_on_get(start_runtime):
    start_runtime(num_cpus=1, object_store_memory=3 * MIB)
    refs = [actorium.put(np.full(MIB // 8, float(index))) for index in range(6)]
    summary = memory_summary()
    assert summary.used <= 3 * MIB
    assert {info.where for info in summary.objects} == {"memory", "spilled"}
    assert [actorium.get(ref)[0] for ref in refs] == [0, 1, 2, 3, 4, 5]
    assert actorium.get(total.remote(refs[0]), timeout=30) == 0.0
    assert actorium.get(total.remote(refs[-1]), timeout=30) == 5.0 * (MIB // 8)
    del refs
    wait_until_store_is_empty()


@pytest.mark.multiprocess
def test_put_raises_out_of_memory_when_nothing_can_be_spilled(start_runtime):
    start_runtime(num_cpus=1, object_store_memory=3 * MIB)
    refs = [actorium.put(np.ones(MIB // 8)) for _ in range(2)]
    in_use = [actorium.get(ref) for ref in refs]  # views in use cannot be spilled
    with pytest.raises(OutOfMemoryError, match=r"does not fit .* of 3.0 MiB in use"):
        actorium.put(np.ones(2 * MIB // 8))
    with pytest.raises(OutOfMemoryError):
        actorium.put(np.ones(4 * MIB // 8))   # larger than the whole store
    # The runtime keeps working, and room comes back when the views go.
    assert actorium.get(total.remote(np.ones(10)), timeout=30) == 10.0
    del in_use
    gc.collect()
    assert actorium.get(actorium.put(np.ones(2 * MIB // 8))).sum() == 2 * MIB // 8


def test_init_rejects_a_bad_object_store_memory(no_runtime):
    with pytest.raises(ValueError, match="object_store_memory"):
        actorium.init(object_store_memory=-5)


# ---------------------------------------------------------------------- failures
@pytest.mark.multiprocess
def test_a_worker_killed_while_reading_neither_corrupts_nor_leaks_the_store(start_runtime):
    start_runtime(num_cpus=1)
    array = np.arange(MIB, dtype=np.float64)
    ref = actorium.put(array)
    with pytest.raises(WorkerCrashedError):
        actorium.get(read_then_die.options(max_retries=0).remote(ref), timeout=30)
    np.testing.assert_array_equal(actorium.get(ref), array)
    assert actorium.get(total.remote(ref), timeout=30) == float(array.sum())
    # The same with the array passed directly (stored for the call, owned by the driver).
    with pytest.raises(WorkerCrashedError):
        actorium.get(read_then_die.options(max_retries=0).remote(array), timeout=30)
    del ref
    wait_until_store_is_empty()


@pytest.mark.multiprocess
def test_shutdown_removes_the_store(start_runtime):
    start_runtime(num_cpus=1)
    ref = actorium.put(np.ones(MIB // 8))
    directory = store_dir()
    assert os.path.isdir(directory)
    del ref
    actorium.shutdown()
    assert not os.path.exists(directory)


# ---------------------------------------------------------------------- observability
def test_memory_summary_and_the_cli_list_objects_with_size_owner_refs_and_place(runtime,
                                                                                capsys):
    from actorium.cli import main

    ref = actorium.put(np.ones(MIB // 8))
    (info,) = [info for info in list_objects() if info.object_id == ref.hex()]
    assert info.size >= MIB and info.where == "memory" and info.ref_count == 1
    assert info.owner == context.current_runtime().object_store.tag
    assert ref.hex() in str(memory_summary())
    assert main(["memory", "--session", context.current_runtime().session_dir]) == 0
    printed = capsys.readouterr().out
    assert ref.hex() in printed and "memory" in printed


@actorium.remote
def pass_on(boxed_refs):
    """Passes a borrowed ref on to another task and returns at once (without waiting)."""
    return [total.remote(boxed_refs[0])]


@actorium.remote
def give_back(boxed_refs):
    return boxed_refs[0]


def test_a_borrowed_ref_passed_on_outlives_the_task_that_passed_it(runtime):
    wait_until_store_is_empty()
    ref = actorium.put(np.ones(MIB // 8))
    (nested,) = actorium.get(pass_on.remote(actorium.put([ref])), timeout=30)
    del ref
    gc.collect()
    assert actorium.get(nested, timeout=30) == MIB // 8
    # A ref handed back to its owner inside a result is counted back too.
    ref = actorium.put(np.ones(MIB // 8))
    returned = actorium.get(give_back.remote(actorium.put([ref])), timeout=30)
    assert returned == ref
    del ref, returned, nested
    wait_until_store_is_empty()
