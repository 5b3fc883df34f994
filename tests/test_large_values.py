"""Large ``bytes``, ``bytearray`` and ``str`` through the shared-memory store: exact at every
boundary size, read without leaving anything behind, their memory reused once freed.

A stored value that is one large ``bytes`` or ``bytearray`` is copied out of its file with
``pread`` (no mapping); a ``str`` of one-byte characters travels as its Latin-1 encoding.
"""

from __future__ import annotations

import gc
import os

import pytest

import actorium
from actorium._core import context
from actorium._core.stored import INLINE_LIMIT
from actorium._store.paths import remove_store
from actorium._store.pool import fits, parse
from actorium._store.store import WARM_MIN, ObjectStore, create_store
from actorium._transport import serialization
from actorium.exceptions import ObjectLostError
from actorium.util import memory_summary
from tests.polling import eventually

MIB = 2**20
OOB = serialization.OOB_THRESHOLD
# Around the inline limit, the out-of-band threshold and the kept-mapping size of the store.
SIZES = [OOB - 1, OOB, INLINE_LIMIT, INLINE_LIMIT + 1, WARM_MIN - 1, WARM_MIN + 1]
KINDS = ["bytes", "bytearray", "latin1", "utf8"]


def make(kind: str, size: int) -> bytes | bytearray | str:
    """``size`` bytes or characters of varied content (not a repeated byte: an off-by-one
    in a layout or an offset shows)."""
    if kind in ("latin1", "utf8"):
        # One byte a character but not pure ASCII; or with characters beyond U+00FF.
        pattern = "d\u00e9j\u00e0 vu, na\u00efve " if kind == "latin1" else "snow \u2603 and "
        text = (pattern * (size // len(pattern) + 1))[:size]
        return text if kind == "latin1" else text[:-1] + "\U0001f600"
    data = bytes((index * 7 + index // 256) % 256 for index in range(4099)) * (size // 4099 + 1)
    return bytearray(data[:size]) if kind == "bytearray" else data[:size]


@actorium.remote
def made(kind: str, size: int) -> bytes | bytearray | str:
    return make(kind, size)


@actorium.remote
def same(value: bytes | bytearray | str, kind: str, size: int) -> bool:
    expected = make(kind, size)
    return type(value) is type(expected) and value == expected


@actorium.remote
class Echo:
    def back(self, value: bytes | bytearray | str) -> bytes | bytearray | str:
        return value


def released() -> None:
    """Wait until the driver's dropped stored objects are freed (deleted or pooled)."""
    gc.collect()
    runtime = context.current_runtime()
    eventually(lambda: not any(entry.stored for entry in runtime.objects.entries.values())
               and memory_summary().used == 0, timeout=30)


def object_files() -> list[str]:
    """Object files in the store directory (not the pool, not the usage file)."""
    store = context.current_runtime().object_store
    return [name for name in os.listdir(store.dir)
            if os.path.isfile(os.path.join(store.dir, name)) and not name.startswith(".")]


@pytest.mark.parametrize("kind", KINDS)
def test_values_round_trip_exactly_at_every_boundary_size(runtime, kind):
    for size in SIZES:
        value = make(kind, size)
        assert actorium.get(same.remote(value, kind, size), timeout=60), (kind, size)
        got = actorium.get(made.remote(kind, size), timeout=60)
        assert type(got) is type(value) and got == value, (kind, size)
        ref = actorium.put(value)
        assert actorium.get(ref, timeout=60) == value
        assert actorium.get(same.remote(ref, kind, size), timeout=60), (kind, size)
        del ref, got


def test_an_actor_hands_back_what_it_was_given_with_its_type(runtime):
    echo = Echo.remote()
    for kind in KINDS:
        value = make(kind, 3 * MIB)
        got = actorium.get(echo.back.remote(value), timeout=60)
        assert type(got) is type(value) and got == value, kind
    actorium.kill(echo)


def test_a_returned_bytearray_is_a_fresh_one_the_caller_may_change(runtime):
    got = actorium.get(made.remote("bytearray", 2 * MIB), timeout=60)
    got[0] ^= 0xFF
    again = actorium.get(made.remote("bytearray", 2 * MIB), timeout=60)
    assert again == make("bytearray", 2 * MIB) and got != again


def test_reading_large_values_leaves_no_file_and_no_bytes_in_the_store(runtime):
    released()
    for kind in KINDS:
        values = [actorium.get(made.remote(kind, size), timeout=60) for size in (MIB, 5 * MIB)]
        assert [len(value) for value in values] == [MIB, 5 * MIB]
        assert actorium.get(same.remote(values[1], kind, 5 * MIB), timeout=60)
    released()
    assert object_files() == []
    assert memory_summary().used == 0


@pytest.mark.parametrize("kind", ["bytes", "latin1"])
def test_a_freed_results_memory_is_reused_by_the_next_result_of_that_size(runtime, kind):
    released()
    pool = context.current_runtime().object_store.pool.dir

    def fitting() -> set[str]:   # segments that can hold this result (others tests left)
        return {name for name in os.listdir(pool)
                if (parsed := parse(name)) is not None and fits(parsed[0], 6 * MIB + 64)}

    seen: set[str] = set()
    for _ in range(6):
        assert len(actorium.get(made.remote(kind, 6 * MIB), timeout=60)) == 6 * MIB
        released()
        seen.update(eventually(fitting, timeout=30))
    # The caller read each result without keeping a mapping, so each freed segment went to
    # the pool and the next result was written into it: one or two segments, not six.
    assert len(seen) <= 2, seen


def test_a_large_one_byte_str_travels_as_its_latin1_bytes_other_text_as_utf8():
    for kind, encoding in (("latin1", "latin-1"), ("utf8", "utf-8")):
        text = make(kind, 2 * MIB)
        fmt, data, buffers, _ = serialization.dumps(text)
        assert [buffer.raw().nbytes for buffer in buffers] == [len(text.encode(encoding))]
        assert serialization.loads(fmt, data, [buffer.raw() for buffer in buffers]) == text
        assert serialization.whole_kind(fmt, data, buffers) != 0


def test_only_a_value_that_is_one_bytes_like_is_read_as_a_whole():
    for value in [make("bytes", MIB), make("bytearray", MIB), make("latin1", MIB)]:
        assert serialization.whole_kind(*serialization.dumps(value)[:3]) != 0
    for value in [(make("bytes", MIB),), [make("latin1", MIB)], memoryview(make("bytes", MIB))]:
        assert serialization.whole_kind(*serialization.dumps(value)[:3]) == 0


# ---------------------------------------------------------------------- the store layer alone
@pytest.fixture
def two_stores(tmp_path):
    session = str(tmp_path / "session")
    os.makedirs(session)
    create_store(session, 64 * MIB)
    owner, reader = ObjectStore(session, "owner"), ObjectStore(session, "reader")
    yield owner, reader
    owner.close()
    reader.close()
    remove_store(session)


def stored_bytes(store: ObjectStore, name: str, value: bytes):
    fmt, data, buffers, _ = serialization.dumps(value)
    stored = store.write(name, data, [buffer.raw() for buffer in buffers])
    stored.whole = serialization.whole_kind(fmt, data, buffers)
    return stored


def test_a_copied_out_value_keeps_no_mapping_so_its_file_can_be_reused(two_stores):
    owner, reader = two_stores
    value = make("bytes", 2 * MIB)
    stored = stored_bytes(owner, "owner.aa", value)
    borrowed = type(stored).from_wire(stored.wire())
    assert reader.copy_out(borrowed, bytes) == value
    assert borrowed.mapping is None and reader.let_go(borrowed)
    inode = os.stat(owner.path("owner.aa")).st_ino
    owner.free(stored)
    assert [int(name.split(".")[1]) for name in os.listdir(owner.pool.dir)] == [inode]


def test_a_value_whose_file_is_gone_is_read_the_general_way_and_named_when_lost(two_stores):
    owner, reader = two_stores
    stored = stored_bytes(owner, "owner.bb", make("bytes", MIB))
    borrowed = type(stored).from_wire(stored.wire())
    os.unlink(owner.path("owner.bb"))   # as if its owner freed it meanwhile
    assert reader.copy_out(borrowed, bytes) is None
    with pytest.raises(ObjectLostError, match="owner.bb is no longer in the object store"):
        reader.read(borrowed)


def test_a_file_shorter_than_its_description_is_an_error_naming_it(two_stores):
    owner, reader = two_stores
    stored = stored_bytes(owner, "owner.cc", make("bytes", MIB))
    os.truncate(owner.path("owner.cc"), MIB // 2)
    borrowed = type(stored).from_wire(stored.wire())
    with pytest.raises(ObjectLostError, match="owner.cc is shorter than its description"):
        reader.copy_out(borrowed, bytearray)
