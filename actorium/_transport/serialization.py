"""Turning values into bytes and back.

Two formats, chosen per value:

* ``RAW``: msgpack, for the scalars most calls carry (int, float, str, bytes, bool, None).
  It skips the pickler entirely, which is most of the cost of a tiny call.
* ``PICKLE``: cloudpickle with pickle protocol 5. Buffers of at least ``OOB_THRESHOLD``
  bytes (numpy arrays, PickleBuffer) travel *out of band*: as separate ZeroMQ frames that are
  sent without a copy, and are rebuilt around the received memory without a copy.

A large ``bytes`` value given as the value itself or as a top-level argument is also sent out of
band (the pickler would otherwise copy it into the stream, and that copy is most of the cost of
moving it); so is a large ``bytearray``. Each is rebuilt as its own type with one copy out of
the received memory. A large ``str`` is encoded once (to Latin-1 when every character fits a
byte, which is a plain copy; else to UTF-8) and that encoding travels out of band (in the
stream it would be encoded and then copied again); it is decoded on arrival.

While a value is pickled, every ``ObjectRef`` and actor handle inside it reports itself to the
active :class:`SerializationContext`, so the runtime knows which refs a message carries.
"""

from __future__ import annotations

import pickle
import sys
import threading
from collections.abc import Sequence
from typing import Any

import cloudpickle
import msgpack

from actorium.exceptions import SerializationError

RAW = 0
PICKLE = 1

OOB_THRESHOLD = 64 * 1024

_PRIMITIVES = frozenset({int, float, str, bool, type(None)})
_packb = msgpack.Packer(use_bin_type=True).pack
_unpackb = msgpack.unpackb


def _bytes_from_buffer(buffer: Any) -> bytes:
    """Rebuild a large ``bytes`` sent out of band: one copy out of the received memory."""
    return bytes(buffer)


def _bytearray_from_buffer(buffer: Any) -> bytearray:
    """Rebuild a large ``bytearray`` sent out of band (a copy: the received memory may be
    read-only shared memory, and a bytearray is the caller's own to change)."""
    return bytearray(buffer)


def _str_from_buffer(buffer: Any) -> str:
    """Rebuild a large ``str`` from its UTF-8 encoding sent out of band (the decode is the copy)."""
    return str(buffer, "utf-8", "surrogatepass")


def _str_from_latin1(buffer: Any) -> str:
    """Rebuild a large ``str`` of one-byte characters from its Latin-1 encoding (a copy)."""
    return str(buffer, "latin-1")


_REBUILD = {bytes: _bytes_from_buffer, bytearray: _bytearray_from_buffer, str: _str_from_buffer}

# ``sys.getsizeof`` of a compact ``str`` of n characters, all below U+0100 but not all ASCII,
# is this plus n: CPython then stores one byte per character, and those bytes are the text's
# Latin-1 encoding.
_ONE_BYTE_STR_BASE = sys.getsizeof("\xe9") - 1


def _encode_str(value: str) -> tuple[Any, bytes]:
    """(rebuild function, encoding) of a large ``str``.

    A text whose characters all fit one byte (ASCII, or Latin-1 like "\xe9t\xe9") is held by
    CPython as exactly its Latin-1 bytes: encoding and decoding it are copies, some 50 times
    faster than UTF-8 for text that is not pure ASCII. Any other text goes as UTF-8 (Latin-1
    cannot hold it, and UTF-16/32 would make mostly-ASCII text two to four times longer).
    """
    if value.isascii() or sys.getsizeof(value) == _ONE_BYTE_STR_BASE + len(value):
        try:
            return _str_from_latin1, value.encode("latin-1")
        except UnicodeEncodeError:
            pass  # the size said one byte per character, wrongly: UTF-8 is always right
    return _str_from_buffer, value.encode("utf-8", "surrogatepass")


class _LargeBytes:
    """Wraps a large ``bytes``, ``bytearray`` or ``str`` so that it pickles as an out-of-band
    buffer, not in the stream.

    Only the value itself or a top-level argument is wrapped: the pickler writes ``bytes``
    nested in containers itself and offers no hook for them. A ``str`` goes as its Latin-1
    encoding if every character fits one byte, else as UTF-8 (lone surrogates kept, as
    pickle keeps them): see ``_encode_str``.
    """

    __slots__ = ("value",)

    def __init__(self, value: bytes | bytearray | str) -> None:
        self.value = value

    def __reduce_ex__(self, protocol: Any) -> tuple[Any, tuple[Any, ...]]:
        value = self.value
        if isinstance(value, str):  # exactly str: _out_of_band wraps only the exact types
            rebuild, encoded = _encode_str(value)
            return rebuild, (pickle.PickleBuffer(encoded),)
        return _REBUILD[type(value)], (pickle.PickleBuffer(value),)


# Codes of the types ``whole_kind`` recognises (0: anything else). They travel in a stored
# object's description, so a reader can copy such a value out without unpickling it.
WHOLE_TYPES: dict[int, type[bytes] | type[bytearray] | type[str]] = {
    1: bytes, 2: bytearray, 3: str}
_whole_streams: dict[bytes, int] = {}


def whole_kind(fmt: int, data: bytes | memoryview, buffers: Sequence[Any]) -> int:
    """The ``WHOLE_TYPES`` code if ``dumps`` output is one large ``bytes``, ``bytearray`` or
    ``str`` and nothing else (its bytes, or UTF-8 encoding, are all of buffer 0); else 0."""
    if fmt != PICKLE or len(buffers) != 1 or len(data) > 200:
        return 0
    if not _whole_streams:  # the stream does not depend on the size: learn it once
        samples = [bytes(OOB_THRESHOLD), bytearray(OOB_THRESHOLD), "x" * OOB_THRESHOLD,
                   "\u2603" * OOB_THRESHOLD]  # a str goes as Latin-1 or as UTF-8
        for sample in samples:
            code = next(code for code, kind in WHOLE_TYPES.items() if type(sample) is kind)
            _whole_streams[dumps(sample)[1]] = code
    return _whole_streams.get(bytes(data), 0)


def _out_of_band(value: Any) -> Any:
    # ``len`` of a str counts characters: one is at least one byte of UTF-8.
    if type(value) in _REBUILD and len(value) >= OOB_THRESHOLD:
        return _LargeBytes(value)
    return value


def _travels_raw(value: Any) -> bool:
    """A scalar msgpack writes as it is (a large ``str`` goes out of band instead)."""
    value_type = type(value)
    return value_type in _PRIMITIVES and (value_type is not str or len(value) < OOB_THRESHOLD)


class SerializationContext(threading.local):
    """Per-thread collector of the ObjectRefs met while pickling one value."""

    contained_refs: list[Any] | None = None


serialization_context = SerializationContext()


def dumps(value: Any) -> tuple[int, bytes, list[pickle.PickleBuffer], list[Any]]:
    """Serialize ``value``; return (format, data, out-of-band buffers, contained refs).

    Raises SerializationError naming the type that could not be pickled.
    """
    value_type = type(value)
    if _travels_raw(value) or (value_type is bytes and len(value) < OOB_THRESHOLD):
        try:
            return RAW, _packb(value), [], []
        except (OverflowError, ValueError):
            pass  # e.g. an int beyond 64 bits: pickle handles it
    if value_type is memoryview and value.c_contiguous:
        # memoryview does not pickle; a PickleBuffer of it does, out of band (no copy), and
        # reads back as a memoryview of the received (or shared) memory.
        value = pickle.PickleBuffer(value)
    else:
        value = _out_of_band(value)  # large bytes, bytearray, str (small ones went RAW above)
    buffers: list[pickle.PickleBuffer] = []

    def keep_large_out_of_band(buffer: pickle.PickleBuffer) -> bool:
        if buffer.raw().nbytes < OOB_THRESHOLD:
            return True  # in band: small buffers are cheaper inside the stream
        buffers.append(buffer)
        return False

    refs: list[Any] = []
    outer = serialization_context.contained_refs
    serialization_context.contained_refs = refs
    try:
        data = cloudpickle.dumps(value, protocol=5, buffer_callback=keep_large_out_of_band)
    except Exception as exc:
        raise SerializationError(
            f"could not serialize a value of type {value_type.__qualname__}: {exc}") from exc
    finally:
        serialization_context.contained_refs = outer
    if outer is not None:
        outer.extend(refs)
    return PICKLE, data, buffers, refs


def dumps_args(function_name: str, args: Sequence[Any],
               kwargs: dict[str, Any]) -> tuple[int, bytes, list[pickle.PickleBuffer], list[Any]]:
    """Serialize call arguments; on failure name the argument that cannot be serialized."""
    if not kwargs and all(_travels_raw(a) for a in args):
        try:
            return RAW, _packb(args), [], []
        except (OverflowError, ValueError):
            pass
    try:
        return dumps((tuple(_out_of_band(a) for a in args),
                      {key: _out_of_band(a) for key, a in kwargs.items()}))
    except SerializationError:
        for position, arg in enumerate(args):
            _raise_if_unpicklable(arg, f"argument {position} of {function_name}")
        for key, arg in kwargs.items():
            _raise_if_unpicklable(arg, f"keyword argument {key!r} of {function_name}")
        raise


def _raise_if_unpicklable(value: Any, where: str) -> None:
    try:
        dumps(value)
    except SerializationError as exc:
        raise SerializationError(f"cannot send {where} to a worker: {exc}") from exc.__cause__


def loads(fmt: int, data: bytes | memoryview, buffers: Sequence[Any] = ()) -> Any:
    """Rebuild a value from ``dumps`` output; buffers may be received ZeroMQ frames."""
    if fmt == RAW:
        return _unpackb(data, use_list=False)
    return pickle.loads(data, buffers=buffers)


def loads_args(fmt: int, data: bytes | memoryview,
               buffers: Sequence[Any] = ()) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Rebuild (args, kwargs) from ``dumps_args`` output."""
    if fmt == RAW:
        return _unpackb(data, use_list=False), {}
    args, kwargs = pickle.loads(data, buffers=buffers)
    return args, kwargs
