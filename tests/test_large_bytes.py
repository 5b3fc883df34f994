"""Large ``bytes``, ``bytearray`` and ``str`` travel out of band, not copied through the pickler.

Users pass file contents and payloads straight to ``.remote()``; they must arrive intact, as
the same type, whether given as an argument (positional or keyword), returned, stored in the
shared-memory store (above the inline limit) or nested in a container (the pickler's own path).
"""

from __future__ import annotations

import threading

import pytest

import actorium
from actorium._transport import serialization

pytestmark = pytest.mark.usefixtures("runtime")

BIG = bytes(range(256)) * (3 * 2**20 // 256)      # 3 MiB: stored, not inline
MEDIUM = bytes(range(256)) * (80 * 2**10 // 256)  # 80 KiB: out of band, but inline
# 3 MiB characters with multi-byte ones and a lone surrogate (which pickle keeps too).
TEXT = ("h\u00e9llo w\u00f6rld \u2603 \U0001f600 " * (3 * 2**20 // 24))[:3 * 2**20] + "\udc80"


@actorium.remote
def describe(value, *, key=None):
    return type(value).__name__, len(value), value[:3] + value[-3:], key is None or key == value


@actorium.remote
def give(kind, size):
    if kind == "str":
        return TEXT[:size]
    data = bytes(range(256)) * (size // 256)
    return bytearray(data) if kind == "bytearray" else data


@actorium.remote
def echo(value):
    return value


@actorium.remote
class Holder:
    def __init__(self):
        self.kept = None

    def keep(self, value):
        self.kept = value
        return len(value)

    def back(self):
        return self.kept


@pytest.mark.parametrize("kind", [bytes, bytearray])
def test_large_value_is_sent_out_of_band_not_inside_the_pickle_stream(kind):
    value = kind(BIG)
    fmt, data, buffers, _refs = serialization.dumps(value)
    assert len(data) < 1024
    assert [b.raw().nbytes for b in buffers] == [len(BIG)]
    rebuilt = serialization.loads(fmt, data, [b.raw() for b in buffers])
    assert type(rebuilt) is kind and rebuilt == value


def test_large_arguments_are_sent_out_of_band_positionally_and_by_keyword():
    fmt, data, buffers, _refs = serialization.dumps_args("f", [BIG, 1], {"k": bytearray(BIG)})
    assert len(data) < 1024 and len(buffers) == 2
    args, kwargs = serialization.loads_args(fmt, data, [b.raw() for b in buffers])
    assert args == (BIG, 1) and type(args[0]) is bytes
    assert type(kwargs["k"]) is bytearray and kwargs["k"] == BIG


@pytest.mark.parametrize("value", [BIG, MEDIUM], ids=["stored", "inline"])
def test_a_large_bytes_argument_arrives_intact(value):
    got = actorium.get(describe.remote(value, key=value), timeout=60)
    assert got == ("bytes", len(value), value[:3] + value[-3:], True)


def test_a_large_bytearray_argument_arrives_as_a_bytearray():
    got = actorium.get(describe.remote(bytearray(BIG)), timeout=60)
    assert got[:2] == ("bytearray", len(BIG))


@pytest.mark.parametrize("kind", ["bytes", "bytearray"])
def test_a_large_returned_value_keeps_its_type_and_content(kind):
    got = actorium.get(give.remote(kind, len(BIG)), timeout=60)
    assert type(got).__name__ == kind and got == BIG


def test_a_returned_bytearray_is_the_callers_to_change():
    got = actorium.get(give.remote("bytearray", len(BIG)), timeout=60)
    got[0] = 255
    assert got[0] == 255 and got[1:] == BIG[1:]


def test_an_actor_keeps_a_large_argument_and_returns_it():
    holder = Holder.remote()
    assert actorium.get(holder.keep.remote(BIG), timeout=60) == len(BIG)
    back = actorium.get(holder.back.remote(), timeout=60)
    assert type(back) is bytes and back == BIG


def test_large_bytes_nested_in_a_container_still_round_trip():
    got = actorium.get(describe.remote([BIG, MEDIUM]), timeout=60)
    assert got[:2] == ("list", 2)


def test_put_and_get_of_large_bytes():
    ref = actorium.put(BIG)
    got = actorium.get(ref, timeout=60)
    assert type(got) is bytes and got == BIG


def test_a_large_str_is_sent_as_its_utf8_encoding_out_of_band():
    fmt, data, buffers, _refs = serialization.dumps(TEXT)
    assert len(data) < 1024
    assert [b.raw().nbytes for b in buffers] == [len(TEXT.encode("utf-8", "surrogatepass"))]
    assert serialization.loads(fmt, data, [b.raw() for b in buffers]) == TEXT
    fmt, data, buffers, _refs = serialization.dumps_args("f", [TEXT, "small"], {"k": TEXT})
    assert len(data) < 1024 and len(buffers) == 2
    assert serialization.loads_args(fmt, data, [b.raw() for b in buffers]) == \
        ((TEXT, "small"), {"k": TEXT})


def test_a_small_str_still_travels_as_msgpack():
    assert serialization.dumps("x" * 1000)[0] == serialization.RAW
    assert serialization.dumps_args("f", ["x" * 1000, 1], {})[0] == serialization.RAW


@pytest.mark.parametrize("size", [len(TEXT), 80 * 2**10], ids=["stored", "inline"])
def test_a_large_str_argument_and_result_arrive_intact(size):
    text = TEXT[:size]
    got = actorium.get(echo.remote(text), timeout=60)
    assert type(got) is str and got == text
    assert actorium.get(describe.remote(text, key=text), timeout=60) == \
        ("str", len(text), text[:3] + text[-3:], True)


def test_a_large_returned_str_and_one_kept_by_an_actor_keep_their_content():
    assert actorium.get(give.remote("str", len(TEXT)), timeout=60) == TEXT
    holder = Holder.remote()
    assert actorium.get(holder.keep.remote(TEXT), timeout=60) == len(TEXT)
    assert actorium.get(holder.back.remote(), timeout=60) == TEXT


@pytest.mark.parametrize("kind", [str, bytes])
def test_a_large_argument_is_serialized_once_on_its_way_to_the_store(kind, monkeypatch):
    # Serializing a large str encodes it (a copy of all of it): a second, thrown-away pass
    # over the arguments would double the cost of passing one.
    value = TEXT if kind is str else BIG
    passes = []
    reduce = serialization._LargeBytes.__reduce_ex__

    def counting_reduce(self, protocol):
        passes.append(type(self.value))
        return reduce(self, protocol)

    monkeypatch.setattr(serialization._LargeBytes, "__reduce_ex__", counting_reduce)
    assert actorium.get(describe.remote(value, key=None), timeout=60)[:2] == \
        (kind.__name__, len(value))
    assert passes == [kind]


def test_an_unserializable_argument_next_to_a_large_str_is_named():
    with pytest.raises(actorium.exceptions.SerializationError, match="keyword argument 'key' of"):
        describe.remote(TEXT, key=threading.Lock())
