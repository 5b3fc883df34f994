"""Object refs as Ray's documentation uses them: hex ids, futures, out-of-band pickling."""

from __future__ import annotations

import concurrent.futures
import pickle

import pytest

import actorium as ray
from actorium import cloudpickle

pytestmark = pytest.mark.usefixtures("runtime")


@ray.remote
def add_one(x: int) -> int:
    return x + 1


@ray.remote
def read_pickled(blob: bytes) -> int:
    # Ray's out-of-band serialization: a ref pickled by hand is a usable ref again.
    return ray.get(pickle.loads(blob)) + 1  # type: ignore[no-any-return]


def test_hex_names_the_object_and_round_trips_through_binary():
    ref = ray.put(5)
    assert ref.hex() == ref.binary().hex()
    assert bytes.fromhex(ref.hex()) == ref.binary()


def test_future_is_a_concurrent_future_with_the_value():
    future = add_one.remote(41).future()
    assert isinstance(future, concurrent.futures.Future)
    assert future.result(timeout=60) == 42


@pytest.mark.parametrize("dumps, loads", [(pickle.dumps, pickle.loads),
                                          (cloudpickle.dumps, cloudpickle.loads)])
def test_a_ref_pickled_out_of_band_in_the_driver_is_usable_again(dumps, loads):
    ref = add_one.remote(1)
    again = loads(dumps(ref))
    assert again == ref
    assert ray.get(again) == 2


def test_a_ref_pickled_out_of_band_is_usable_in_a_task():
    ref = ray.put(10)
    blob = pickle.dumps(ref)
    assert ray.get(read_pickled.remote(blob)) == 11


# ---------------------------------------------------------------------- ObjectRef(bytes)
@ray.remote
def read_first(refs: list) -> int:
    return ray.get(refs[0]) + 1  # type: ignore[no-any-return]


@ray.remote
def rebuild_own_put() -> int:
    ref = ray.put(7)
    return ray.get(ray.ObjectRef(ref.binary())) + ray.get(ray.ObjectRef.from_hex(ref.hex()))


def test_object_ref_of_a_refs_bytes_is_the_same_ref():
    ref = ray.put(41)
    again = ray.ObjectRef(ref.binary())
    assert again == ref and hash(again) == hash(ref)
    assert again.hex() == ref.hex() and again.binary() == ref.binary()
    assert ray.get(again, timeout=60) == 41


def test_from_hex_and_bytes_fromhex_rebuild_the_ref():
    ref = add_one.remote(1)
    assert ray.ObjectRef.from_hex(ref.hex()) == ref
    assert ray.get(ray.ObjectRef(bytes.fromhex(ref.hex())), timeout=60) == 2
    assert ray.ObjectRef(ray.ObjectRef.from_hex(ref.hex()).binary()).hex() == ref.hex()


def test_a_ref_rebuilt_from_bytes_can_be_passed_to_a_task():
    ref = ray.put(41)
    assert ray.get(read_first.remote([ray.ObjectRef(ref.binary())]), timeout=60) == 42


def test_a_task_can_rebuild_a_ref_to_its_own_object():
    assert ray.get(rebuild_own_put.remote(), timeout=60) == 14


def test_a_rebuilt_ref_keeps_the_value_alive_after_the_original_is_dropped():
    ref = ray.put("kept")
    again = ray.ObjectRef(ref.binary())
    del ref
    assert ray.get(again, timeout=60) == "kept"


@pytest.mark.parametrize(("bad", "error"), [
    (b"short", ValueError), ("not bytes", TypeError), (5, TypeError)])
def test_object_ref_of_something_that_is_not_an_object_id_is_refused(bad, error):
    with pytest.raises(error, match="object id"):
        ray.ObjectRef(bad)


@pytest.mark.parametrize(("bad", "error"), [("zz", ValueError), (b"00", TypeError)])
def test_from_hex_of_something_that_is_not_a_hex_id_is_refused(bad, error):
    with pytest.raises(error, match="hex string"):
        ray.ObjectRef.from_hex(bad)


def test_object_ref_of_an_id_this_process_does_not_know_fails_at_once():
    # Ray's get() would wait forever for it: the id alone does not say where it lives.
    ref = ray.put(1)
    unknown = bytes(len(ref.binary()))
    with pytest.raises(ValueError, match="no object .* is known in this process"):
        ray.ObjectRef(unknown)
