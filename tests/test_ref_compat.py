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
