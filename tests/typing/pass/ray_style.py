# checked by: mypy
"""A Ray Core program ported with `import actorium as ray` type-checks as it is."""

from __future__ import annotations

from typing import Any, Generic, TypeVar, assert_type

import actorium as ray

T = TypeVar("T")


@ray.remote
def square(x: int) -> int:
    return x * x


@ray.remote(num_cpus=1)
class Counter:
    def __init__(self) -> None:
        self.n = 0

    def increment(self) -> int:
        self.n += 1
        return self.n


@ray.remote
class Box(Generic[T]):
    def __init__(self, item: T) -> None:
        self.item = item

    def take(self) -> T:
        return self.item


def main() -> None:
    ray.init(num_cpus=2)
    futures = [square.remote(i) for i in range(4)]
    assert_type(ray.get(futures), list[int])
    counters = [Counter.remote() for _ in range(4)]
    [c.increment.remote() for c in counters]
    assert_type(ray.get([c.increment.remote() for c in counters]), list[int])
    box = Box.remote("x")
    assert_type(box, ray.ActorHandle[Box[Any]])
    print(ray.get(box.take.remote()))
    ray.shutdown()
