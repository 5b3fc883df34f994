# needs: actorium.ObjectRefGenerator (issue 12, branch streaming)
"""Streams as both checkers see them: a function annotated to return a Generator (or an
AsyncGenerator) is a generator function, whose call streams; so does num_returns="streaming".
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator, Iterator
from typing import Any, assert_type

import actorium
from actorium import DynamicObjectRefGenerator, ObjectRef, ObjectRefGenerator


@actorium.remote
def count(n: int) -> Generator[int, None, None]:
    yield from range(n)


@actorium.remote(num_cpus=1)
async def ticks(n: int) -> AsyncGenerator[float, None]:
    for i in range(n):
        yield float(i)


@actorium.remote(num_returns="streaming")
def letters(text: str) -> Iterator[str]:      # said to stream: Iterator is enough then
    yield from text


@actorium.remote(num_returns="dynamic")
def chunks(n: int) -> Generator[bytes, None, None]:
    yield b"x" * n


def _squares(n: int) -> Generator[int, None, None]:
    for i in range(n):
        yield i * i


squares = actorium.remote(_squares)


@actorium.remote
def total(values: list[int]) -> int:
    return sum(values)


def consume() -> int:
    gen = count.remote(3)
    assert_type(gen, ObjectRefGenerator[int])
    assert_type(next(gen), ObjectRef[int])
    assert_type(count.options(num_cpus=1).remote(2), ObjectRefGenerator[int])
    assert_type(count.options(num_returns="streaming").remote(2), ObjectRefGenerator[int])
    assert_type(count.options(num_returns="dynamic").remote(2),
                ObjectRef[DynamicObjectRefGenerator])
    assert_type(count.options(num_returns=1, _generator_backpressure_num_objects=4).remote(2),
                ObjectRefGenerator[int])
    assert_type(total.options(num_returns="streaming").remote([1]), ObjectRefGenerator[Any])
    assert_type(letters.remote("ab"), ObjectRefGenerator[str])
    assert_type(chunks.remote(2), ObjectRef[DynamicObjectRefGenerator])
    assert_type(squares.remote(4), ObjectRefGenerator[int])
    values = [actorium.get(ref) for ref in gen]
    assert_type(values, list[int])
    return sum(values) + actorium.get(total.remote(values))


async def consume_async() -> float:
    sum_of_ticks = 0.0
    async for tick in ticks.remote(2):
        assert_type(tick, ObjectRef[float])
        sum_of_ticks += await tick
    return sum_of_ticks
