# checked by: mypy
# needs: actorium.ObjectRefGenerator (issue 12, branch streaming)
"""A generator function's call streams: an ObjectRefGenerator of refs of what it yields."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import assert_type

import actorium
from actorium import ObjectRef, ObjectRefGenerator


@actorium.remote
def count(n: int) -> Iterator[int]:
    yield from range(n)


@actorium.remote(num_cpus=1)
async def ticks(n: int) -> AsyncIterator[float]:
    for i in range(n):
        yield float(i)


def _letters() -> Iterator[str]:
    yield "a"


letters = actorium.remote(_letters)


@actorium.remote
def not_a_generator() -> Iterator[int]:     # returns an iterator: one ref, not a stream
    return iter([1])


def consume() -> int:
    gen = count.remote(3)
    assert_type(gen, ObjectRefGenerator[int])
    assert_type(next(gen), ObjectRef[int])
    assert_type(count.options(num_cpus=1).remote(2), ObjectRefGenerator[int])
    assert_type(letters.remote(), ObjectRefGenerator[str])
    assert_type(not_a_generator.remote(), ObjectRef[Iterator[int]])
    return sum(actorium.get(ref) for ref in gen)


async def consume_async() -> float:
    total = 0.0
    async for tick in ticks.remote(2):
        assert_type(tick, ObjectRef[float])
        total += await tick
    return total
