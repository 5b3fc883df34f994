"""Methods decorated with @actorium.method are typed without a plugin: pyright checks the calls
made through an ActorProxy[C] (Ray's pattern), mypy through any handle (the plugin reads
ActorProxy[C] as ActorHandle[C]). Both checkers infer the same types here."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Generator
from typing import Any, assert_type

import actorium
from actorium import ActorHandle, ObjectRef, ObjectRefGenerator
from actorium.actor import ActorProxy


class _Store:
    def __init__(self, name: str) -> None:
        self.name = name
        self.items: dict[str, int] = {}

    @actorium.method
    def put(self, key: str, value: int = 0) -> int:
        self.items[key] = value
        return len(self.items)

    @actorium.method
    async def size(self) -> int:                 # unwrapped from async def
        await asyncio.sleep(0)
        return len(self.items)

    @actorium.method(num_returns=2)
    def bounds(self) -> tuple[int, int]:
        return min(self.items.values()), max(self.items.values())

    @actorium.method(num_returns=0)
    def clear(self) -> None:
        self.items.clear()

    @actorium.method
    def keys(self) -> Generator[str, None, None]:    # a generator method streams
        yield from self.items

    @actorium.method(concurrency_group="io")
    async def values(self) -> AsyncGenerator[int, None]:
        for value in self.items.values():
            yield value

    @actorium.method
    def refill(self, count: int) -> int:
        for number in range(count):
            self.put(f"k{number}", number)       # inside the actor: a plain method call
        assert_type(self.put("x"), int)
        return count


Store = actorium.remote(concurrency_groups={"io": 2})(_Store)


def calls(store: ActorProxy[_Store]) -> int:
    assert_type(store.put.remote("a", value=1), ObjectRef[int])
    assert_type(store.size.remote(), ObjectRef[int])
    assert_type(store.bounds.remote(), list[ObjectRef[Any]])
    assert_type(store.clear.remote(), None)
    assert_type(store.keys.remote(), ObjectRefGenerator[str])
    assert_type(store.values.remote(), ObjectRefGenerator[int])
    assert_type(store.put.options(num_returns=0).remote("b"), None)
    assert_type(store.put.options(concurrency_group="io").remote("c"), ObjectRef[int])
    assert_type(store.put.remote(actorium.put("k"), 2), ObjectRef[int])   # refs for values
    for ref in store.keys.remote():
        assert_type(ref, ObjectRef[str])
    return actorium.get(store.put.remote("d"))


async def awaited(store: ActorProxy[_Store]) -> list[int]:
    first = await store.size.remote()
    assert_type(first, int)
    async for ref in store.values.remote():
        assert_type(await ref, int)
    return list(await asyncio.gather(store.size.remote(), store.put.remote("e")))


def handles() -> None:
    handle = Store.remote("s")                    # a handle is an ActorProxy
    assert_type(Store.remote(actorium.put("t")), ActorHandle[_Store])
    assert_type(handle, ActorHandle[_Store])
    calls(handle)
    proxies: list[ActorProxy[_Store]] = [Store.remote(str(n)) for n in range(3)]
    print([calls(proxy) for proxy in proxies])
