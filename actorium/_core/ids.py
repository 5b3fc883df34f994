"""Identifiers: raw bytes on the wire, hex strings for people.

Ids are minted without system calls on the hot path: each process draws an 8-byte random
prefix once and appends a counter. A task's return objects are ``task_id + index`` so that
nobody has to send object ids along with a call.
"""

from __future__ import annotations

import itertools
import os
import struct

TASK_ID_SIZE = 16
OBJECT_ID_SIZE = TASK_ID_SIZE + 4

_pack_counter = struct.Struct(">Q").pack
_pack_index = struct.Struct(">I").pack


class IdMinter:
    """Mints process-unique ids: a random prefix followed by a counter."""

    __slots__ = ("prefix", "_counter")

    def __init__(self, prefix: bytes | None = None) -> None:
        self.prefix = prefix if prefix is not None else os.urandom(8)
        self._counter = itertools.count(1)

    def next_id(self) -> bytes:
        """A new 16-byte id; thread-safe because ``itertools.count`` is atomic under the GIL."""
        return self.prefix + _pack_counter(next(self._counter))


def object_id_for(task_id: bytes, index: int) -> bytes:
    """The id of return value ``index`` of ``task_id``."""
    return task_id + _pack_index(index)


def task_id_of(object_id: bytes) -> bytes:
    """The task whose return value ``object_id`` is."""
    return object_id[:TASK_ID_SIZE]


def random_id(size: int = 16) -> bytes:
    """A fresh random id, for things created rarely (nodes, jobs, workers)."""
    return os.urandom(size)
