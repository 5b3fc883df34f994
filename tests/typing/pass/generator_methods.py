# checked by: mypy
# needs: actorium.ObjectRefGenerator (issue 12, branch streaming)
"""A generator method's call streams: an ObjectRefGenerator of refs of what it yields."""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator, Iterator
from typing import assert_type

import actorium
from actorium import ObjectRef, ObjectRefGenerator


@actorium.remote
class Producer:
    def count(self, n: int) -> Generator[int, None, None]:
        yield from range(n)

    def names(self) -> Iterator[str]:
        yield "a"

    async def ticks(self, n: int) -> AsyncIterator[float]:
        for i in range(n):
            yield float(i)

    def plain(self) -> list[int]:          # returns a list: one ref, not a stream
        return [1]


def consume(producer: actorium.ActorHandle[Producer]) -> int:
    gen = producer.count.remote(3)
    assert_type(gen, ObjectRefGenerator[int])
    total = 0
    for ref in gen:
        assert_type(ref, ObjectRef[int])
        total += actorium.get(ref)
    assert_type(producer.names.remote(), ObjectRefGenerator[str])
    assert_type(producer.plain.remote(), ObjectRef[list[int]])
    return total


async def consume_async(producer: actorium.ActorHandle[Producer]) -> float:
    total = 0.0
    async for tick in producer.ticks.remote(2):
        total += await tick
    return total


consume(Producer.remote())
