"""Large copies into the store use two threads; the bytes must land exactly where they belong."""

from __future__ import annotations

import mmap

import numpy as np
import pytest

import actorium
from actorium._store.parallel_copy import PARALLEL_MIN, copy_in_two

pytestmark = pytest.mark.timeout(120)


def test_two_threads_copy_every_byte_to_its_offset():
    source = np.random.default_rng(1).integers(0, 256, PARALLEL_MIN + 12345, dtype=np.uint8)
    source.flags.writeable = False      # read-only sources are the common case (bytes, views)
    target = mmap.mmap(-1, source.nbytes + 100)
    try:
        assert copy_in_two(target, 64, source)
        copied = np.frombuffer(target, dtype=np.uint8)[64:64 + source.nbytes]
        assert np.array_equal(copied, source)
        assert target[:64] == b"\0" * 64 and target[64 + source.nbytes:] == b"\0" * 36
        del copied
    finally:
        target.close()


def test_small_or_misplaced_copies_are_left_to_the_caller():
    target = mmap.mmap(-1, PARALLEL_MIN)
    try:
        assert not copy_in_two(target, 0, b"x" * 1000)                   # too small to split
        assert not copy_in_two(target, 1, bytes(PARALLEL_MIN))           # would not fit
        assert not copy_in_two(b"read-only target", 0, bytes(PARALLEL_MIN))
        assert target[:4] == b"\0\0\0\0"
    finally:
        target.close()


def test_large_arrays_put_again_into_reused_memory_read_back_intact(runtime):
    rng = np.random.default_rng(7)
    for _ in range(3):   # later rounds write into a pooled segment through a kept mapping
        array = rng.random(10_000_000)   # 80 MB
        ref = actorium.put(array)
        assert np.array_equal(actorium.get(ref), array)
        del ref
