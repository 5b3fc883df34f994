"""Reusing freed shared memory: only when nobody maps it, within the budget, nothing left over."""

from __future__ import annotations

import gc
import os

import numpy as np
import pytest

import actorium
from actorium._core import context
from actorium._store.paths import remove_store
from actorium._store.pool import SegmentPool
from actorium._store.segment import StoredObject
from actorium._store.store import ObjectStore, create_store
from actorium.exceptions import OutOfMemoryError
from actorium.util import memory_summary
from tests.polling import eventually

MIB = 2**20
# Below and above the size from which writers keep a mapping of a reused segment.
SIZES = [MIB, 6 * MIB]


def inode_of(ref: actorium.ObjectRef) -> int:
    runtime = context.current_runtime()
    stored = runtime.objects.entries[ref.id].stored
    assert stored is not None
    return os.stat(runtime.object_store.path(stored.name)).st_ino


def released() -> None:
    """Wait until the driver has freed its dropped stored objects (deleted or pooled)."""
    gc.collect()
    runtime = context.current_runtime()
    eventually(lambda: not any(entry.stored for entry in runtime.objects.entries.values())
               and memory_summary().used == 0, timeout=30)


def pool_inodes() -> set[int]:
    pool = context.current_runtime().object_store.pool.dir
    return {int(name.split(".")[1]) for name in os.listdir(pool)}


@actorium.remote
def checksum(array):
    return float(array.sum())


@actorium.remote
def filled(size, value):
    return np.full(size // 8, float(value))


@actorium.remote
class Keeper:
    """Reads an object, drops its ref and keeps only the array (a view of shared memory)."""

    def keep(self, boxed_refs):
        (ref,) = boxed_refs
        self.view = actorium.get(ref)
        del ref, boxed_refs
        return float(self.view.sum())

    def look(self):
        """The view's checksum, and whether the memory it reads was unlinked (never reused)."""
        address = self.view.__array_interface__["data"][0]
        with open("/proc/self/maps") as maps:
            for line in maps:
                start, end = (int(part, 16) for part in line.split()[0].split("-"))
                if start <= address < end:
                    return float(self.view.sum()), line.rstrip().endswith("(deleted)")
        raise AssertionError("the view's memory is not mapped")


# ---------------------------------------------------------------------- reuse
@pytest.mark.parametrize("size", SIZES)
def test_a_segment_nobody_maps_is_reused_by_the_next_put(runtime, size):
    released()
    seen = set()
    for value in range(8):
        ref = actorium.put(np.full(size // 8, float(value)))
        inode = inode_of(ref)
        seen.add(inode)
        assert actorium.get(ref)[0] == value   # read (mapped) by the owner, then dropped
        del ref
        eventually(lambda inode=inode: inode in pool_inodes(), timeout=30)
    assert len(seen) == 1   # one file, written eight times
    assert memory_summary().used == 0


def test_a_segment_read_by_tasks_is_reused_once_they_let_go(runtime):
    released()
    ref = actorium.put(np.ones(MIB // 8))
    first = inode_of(ref)
    assert actorium.get([checksum.remote(ref) for _ in range(4)], timeout=30) == [MIB / 8] * 4
    del ref
    released()
    eventually(lambda: first in pool_inodes(), timeout=30)
    again = actorium.put(np.zeros(MIB // 8))
    assert inode_of(again) == first
    assert actorium.get(checksum.remote(again), timeout=30) == 0.0


def test_a_large_put_right_after_a_drop_reuses_the_dropped_objects_memory(runtime):
    released()
    ref = actorium.put(np.ones(5 * MIB // 8))
    first = inode_of(ref)
    for value in range(5):
        del ref   # released by the loop later; the next large put does not wait for that
        ref = actorium.put(np.full(5 * MIB // 8, float(value)))
        assert inode_of(ref) == first
        assert actorium.get(ref)[-1] == value
    assert actorium.get(checksum.remote(ref), timeout=30) == 4.0 * (5 * MIB // 8)


# ---------------------------------------------------------------------- never under a reader
@pytest.mark.parametrize("size", SIZES)
def test_a_view_kept_in_another_process_never_sees_other_objects(runtime, size):
    keeper = Keeper.remote()
    ref = actorium.put(np.full(size // 8, 7.0))
    expected = 7.0 * (size // 8)
    assert actorium.get(keeper.keep.remote(actorium.put([ref])), timeout=30) == expected
    del ref
    released()
    for value in range(12):   # the same size again and again, in the driver and in workers
        other = actorium.put(np.full(size // 8, float(value)))
        assert actorium.get(checksum.remote(other), timeout=30) == value * (size // 8)
        del other
        actorium.get(filled.remote(size, -1.0), timeout=30)
        released()
    total, deleted = actorium.get(keeper.look.remote(), timeout=30)
    assert total == expected
    assert deleted   # the file was unlinked (pages kept for the reader), not reused
    actorium.kill(keeper)


@pytest.mark.parametrize("size", SIZES)
def test_a_view_kept_by_the_owner_never_sees_other_objects(runtime, size):
    released()
    ref = actorium.put(np.arange(size // 8, dtype=np.float64))
    view = actorium.get(ref)
    kept_inode = inode_of(ref)
    del ref
    released()
    for value in range(12):
        other = actorium.put(np.full(size // 8, float(value)))
        assert inode_of(other) != kept_inode
        del other
        released()
    np.testing.assert_array_equal(view, np.arange(size // 8, dtype=np.float64))


def test_a_task_result_kept_as_a_view_is_not_overwritten_by_later_results(runtime):
    view = actorium.get(filled.remote(6 * MIB, 3.0), timeout=30)
    released()
    for value in range(12):
        assert actorium.get(filled.remote(6 * MIB, value), timeout=30)[0] == value
        released()
    assert float(view.sum()) == 3.0 * (6 * MIB // 8)


# ---------------------------------------------------------------------- the store layer alone
@pytest.fixture
def two_stores(tmp_path):
    """Two processes' handles on one store (flock tells apart open files, not processes)."""
    session = str(tmp_path / "session")
    os.makedirs(session)
    create_store(session, 16 * MIB)
    owner, reader = ObjectStore(session, "owner"), ObjectStore(session, "reader")
    yield owner, reader
    owner.close()
    reader.close()
    remove_store(session)


def store_one(store: ObjectStore, name: str, size: int, value: int):
    array = np.full(size, value, dtype=np.uint8)
    return store.write(name, b"stream", [memoryview(array)])


def test_the_owner_reuses_a_file_only_after_every_mapping_of_it_is_gone(two_stores):
    owner, reader = two_stores
    stored = store_one(owner, "owner.bb", MIB, 1)
    inode = os.stat(owner.path("owner.bb")).st_ino
    borrowed = StoredObject.from_wire(stored.wire())
    _, (view,) = reader.read(borrowed)
    assert not reader.let_go(borrowed)   # a view is alive: the mapping stays
    owner.free(stored)                    # no flag said so: the kernel's lock does
    assert os.listdir(owner.pool.dir) == []
    assert not os.path.exists(owner.path("owner.bb"))
    again = store_one(owner, "owner.cc", MIB, 2)
    assert os.stat(owner.path("owner.cc")).st_ino != inode
    assert bytes(view[:4]) == b"\x01" * 4
    # Without views, letting go closes the mapping and the owner's free keeps the file.
    borrowed = StoredObject.from_wire(again.wire())
    stream, (view,) = reader.read(borrowed)
    assert bytes(stream) == b"stream" and bytes(view[:1]) == b"\x02"
    del stream, view
    assert reader.let_go(borrowed)
    inode = os.stat(owner.path("owner.cc")).st_ino
    owner.free(again)
    assert os.listdir(owner.pool.dir) == [f"{again.size}.{inode}"]
    assert owner.capacity.usage().pooled == again.size


def test_a_borrower_that_still_maps_the_file_makes_the_owner_delete_it(two_stores):
    owner, _ = two_stores
    stored = store_one(owner, "owner.aa", MIB, 1)
    stored.mapped_elsewhere = True   # what RELEASE_OBJECT said
    owner.free(stored)
    assert os.listdir(owner.pool.dir) == []
    assert owner.capacity.usage().used == 0


def test_pooled_segments_count_in_the_budget_and_make_way_for_a_put(two_stores):
    owner, _ = two_stores
    for index in range(6):   # 6 MiB of freed segments kept in the pool
        owner.free(store_one(owner, f"owner.{index:02x}", MIB, index))
        usage = owner.capacity.usage()
        assert usage.used + usage.pooled <= usage.capacity
    stored = [store_one(owner, f"owner.{index + 16:02x}", 2 * MIB, 0) for index in range(6)]
    for one in stored:
        owner.free(one)
    usage = owner.capacity.usage()
    assert usage.pooled <= usage.capacity // 2 and usage.pool_files <= 8
    # 14 MiB fits in the 16 MiB budget only once pooled segments are deleted.
    big = store_one(owner, "owner.ff", 14 * MIB, 9)
    usage = owner.capacity.usage()
    assert usage.used + usage.pooled <= usage.capacity
    with pytest.raises(OutOfMemoryError):
        store_one(owner, "owner.fe", 3 * MIB, 0)
    owner.free(big)


def test_a_full_pool_makes_way_for_a_segment_of_another_size(two_stores, monkeypatch):
    owner, _ = two_stores
    monkeypatch.setattr("actorium._store.pool.MAX_FILES", 3)
    small = [store_one(owner, f"owner.{index:02x}", MIB // 4, index) for index in range(4)]
    for one in small:
        owner.free(one)
    assert owner.capacity.usage().pool_files == 3   # the fourth was deleted: pool full
    large = store_one(owner, "owner.ff", MIB, 1)
    inode = os.stat(owner.path("owner.ff")).st_ino
    owner.free(large)
    names = os.listdir(owner.pool.dir)
    assert f"{large.size}.{inode}" in names and len(names) == 3
    usage = owner.capacity.usage()
    assert (usage.pool_files, usage.used) == (3, 0)
    assert usage.pooled == large.size + 2 * small[0].size


def test_a_segment_taken_by_two_processes_at_once_goes_to_one(two_stores):
    owner, reader = two_stores
    owner.free(store_one(owner, "owner.aa", MIB, 1))
    pool = SegmentPool(owner.dir, owner.capacity)
    fd = pool.take(MIB + 64, owner.path("owner.bb"))
    assert fd is not None
    os.close(fd)
    assert reader.pool.take(MIB + 64, reader.path("reader.cc")) is None   # stale hint
    assert not os.path.exists(reader.path("reader.cc"))


# ---------------------------------------------------------------------- shutdown
@pytest.mark.multiprocess
def test_shutdown_leaves_no_pool_and_no_mapping(start_runtime):
    start_runtime(num_cpus=1)
    for _ in range(3):
        ref = actorium.put(np.ones(6 * MIB // 8))
        actorium.get(checksum.remote(ref), timeout=30)
        del ref
        released()
    directory = context.current_runtime().object_store.dir
    eventually(lambda: memory_summary().pooled > 0, timeout=30)
    actorium.shutdown()
    assert not os.path.exists(directory)
    with open("/proc/self/maps") as maps:
        assert directory not in maps.read()
