"""Values cross process boundaries intact: arguments and results keep their type and content."""

from __future__ import annotations

import dataclasses
import enum
import math
import threading
from collections import OrderedDict, defaultdict, namedtuple

import numpy as np
import pytest

import actorium
from actorium.exceptions import SerializationError

pytestmark = pytest.mark.usefixtures("runtime")

Point = namedtuple("Point", "x y")


@dataclasses.dataclass
class Order:
    item: str
    quantity: int
    tags: list[str] = dataclasses.field(default_factory=list)


class Colour(enum.Enum):
    RED = 1
    GREEN = 2


class Vector:
    def __init__(self, *values):
        self.values = list(values)

    def __eq__(self, other):
        return isinstance(other, Vector) and other.values == self.values

    def norm(self):
        return math.sqrt(sum(v * v for v in self.values))


@actorium.remote
def identity(value):
    return value


@actorium.remote
def describe(*args, **kwargs):
    return [type(a).__name__ for a in args], {k: type(v).__name__ for k, v in kwargs.items()}


@actorium.remote
def apply(function, value):
    return function(value)


@actorium.remote
def norm(vector):
    return vector.norm()


@actorium.remote
class Echo:
    def echo(self, value):
        return value


VALUES = [
    0, 1, -1, 2 ** 63 - 1, 2 ** 64, -(2 ** 70), 1.5, -0.0, math.inf, "", "héllo wörld ✓",
    "x" * 1_000_000, b"", b"\x00\xff", b"b" * 100_000, bytearray(b"mutable"), None, True, False,
    [], [1, "a", None], (), (1, (2, (3,))), {"k": {"nested": [1, 2]}}, {1: "int key", (2, 3): "t"},
    {1, 2}, frozenset({"f"}), Point(1, 2), Order("apple", 3, ["fresh"]), Colour.GREEN,
    OrderedDict(a=1, b=2), complex(1, 2), range(3), ValueError("returned, not raised"),
]


def same(a, b):
    if isinstance(a, BaseException):
        return type(a) is type(b) and a.args == b.args
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("value", VALUES, ids=lambda v: f"{type(v).__name__}:{repr(v)[:20]}")
def test_a_value_survives_a_round_trip_through_a_task(value):
    assert same(actorium.get(identity.remote(value), timeout=20), value)


@pytest.mark.parametrize("value", [2 ** 64, "text", (1, 2), [1, 2], Colour.RED, b"raw"],
                         ids=repr)
def test_a_value_survives_a_round_trip_through_an_actor(value):
    assert same(actorium.get(Echo.remote().echo.remote(value), timeout=20), value)


def test_nan_survives_a_round_trip():
    assert math.isnan(actorium.get(identity.remote(float("nan"))))


def test_argument_types_are_preserved_positionally_and_by_keyword():
    args, kwargs = actorium.get(describe.remote(1, "s", b"b", 1.0, None, True, (1,), [1],
                                                key=(2,), other=b"x"))
    assert args == ["int", "str", "bytes", "float", "NoneType", "bool", "tuple", "list"]
    assert kwargs == {"key": "tuple", "other": "bytes"}


def test_a_returned_exception_is_a_value_not_an_error():
    value = actorium.get(identity.remote(KeyError("k")))
    assert isinstance(value, KeyError)


def test_instances_of_classes_defined_in_the_test_module_travel():
    assert actorium.get(norm.remote(Vector(3, 4))) == 5.0
    assert actorium.get(identity.remote(Vector(1, 2))) == Vector(1, 2)


def test_lambdas_and_closures_can_be_passed_as_arguments():
    factor = 3
    assert actorium.get(apply.remote(lambda v: v * factor, 5)) == 15


def test_a_defaultdict_keeps_its_default_factory():
    value = defaultdict(list, {"a": [1]})
    got = actorium.get(identity.remote(value))
    assert got == value
    assert got["missing"] == []


# ---------------------------------------------------------------------- numpy
@pytest.mark.parametrize("array", [
    np.arange(10, dtype=np.int8),
    np.linspace(0, 1, 300_000),
    np.zeros((500, 400), dtype=np.float32),
    np.arange(200_000, dtype=np.int64)[::3],
    np.asfortranarray(np.arange(120_000, dtype=np.float64).reshape(300, 400)),
    np.array(7.5),
    np.array([(1, 2.0), (3, 4.0)], dtype=[("a", "i4"), ("b", "f8")]),
    np.array(["x", "yz"]),
], ids=["int8", "float64-large", "float32-2d", "strided", "fortran", "0d", "structured", "str"])
def test_numpy_arrays_round_trip_with_dtype_shape_and_values(array):
    got = actorium.get(identity.remote(array), timeout=20)
    assert got.dtype == array.dtype
    assert got.shape == array.shape
    assert np.array_equal(got, array)


def test_large_arrays_inside_containers_round_trip():
    value = {"a": np.ones(200_000), "b": [np.arange(100_000), "label"]}
    got = actorium.get(identity.remote(value), timeout=20)
    assert np.array_equal(got["a"], value["a"])
    assert np.array_equal(got["b"][0], value["b"][0])
    assert got["b"][1] == "label"


def test_an_array_argument_is_read_correctly_by_the_task():
    @actorium.remote
    def stats(array):
        return float(array.sum()), array.shape, str(array.dtype)

    array = np.arange(1_000_000, dtype=np.float64)
    assert actorium.get(stats.remote(array), timeout=20) == (
        float(array.sum()), (1_000_000,), "float64")


# ---------------------------------------------------------------------- handles and refs
def test_actor_handles_travel_inside_values():
    echo = Echo.remote()

    @actorium.remote
    def call_from_dict(handles):
        return actorium.get(handles["echo"].echo.remote("via dict"))

    assert actorium.get(call_from_dict.remote({"echo": echo}), timeout=20) == "via dict"


def test_an_actor_handle_returned_by_a_task_is_usable_by_the_driver():
    @actorium.remote
    def make_echo():
        return Echo.remote()

    echo = actorium.get(make_echo.remote(), timeout=20)
    assert isinstance(echo, actorium.ActorHandle)
    assert actorium.get(echo.echo.remote("made remotely"), timeout=20) == "made remotely"


# ---------------------------------------------------------------------- what cannot travel
@pytest.mark.parametrize("value", [threading.Lock(), (i for i in range(3))],
                         ids=["lock", "generator"])
def test_an_unpicklable_argument_is_a_serialization_error_naming_its_position(value):
    with pytest.raises(SerializationError, match="argument 1 of apply"):
        apply.remote(len, value)


def test_an_unpicklable_value_nested_in_an_argument_is_reported():
    with pytest.raises(SerializationError, match="argument 0"):
        identity.remote({"fine": 1, "lock": threading.Lock()})


def test_put_of_an_unpicklable_value_is_a_serialization_error():
    with pytest.raises(SerializationError, match="lock"):
        actorium.put(threading.Lock())
