"""Remote functions: .remote() is checked against the function and returns a typed ref."""

from __future__ import annotations

import asyncio
from typing import Any, assert_type

import actorium
from actorium import ObjectRef, RemoteFunction


@actorium.remote
def add(x: int, y: int = 0) -> int:
    return x + y


@actorium.remote
async def greet(name: str) -> str:
    return f"hello {name}"


@actorium.remote(num_cpus=1, max_retries=2)
def scale(values: list[float], *, factor: float) -> list[float]:
    return [v * factor for v in values]


@actorium.remote(num_returns=2)
def split(text: str) -> tuple[str, str]:
    head, _, tail = text.partition(" ")
    return head, tail


@actorium.remote(num_returns=0)
def fire(event: str) -> None:
    pass


def functions() -> None:
    same: RemoteFunction[[int, int], ObjectRef[int]] = add
    assert_type(same.remote(1, 2), ObjectRef[int])
    assert_type(add.remote(1, 2), ObjectRef[int])
    assert_type(add.remote(1), ObjectRef[int])
    assert_type(add.remote(x=1, y=2), ObjectRef[int])
    assert_type(greet.remote("ada"), ObjectRef[str])          # unwrapped from async def
    assert_type(scale.remote([1.0], factor=2.0), ObjectRef[list[float]])
    assert_type(split.remote("a b"), list[ObjectRef[Any]])
    assert_type(fire.remote("boot"), None)
    head, tail = split.remote("a b")
    assert_type(actorium.get(head), Any)
    assert_type(actorium.get([head, tail]), list[Any])


def options_keep_the_types(count: int) -> None:
    assert_type(add.options(num_cpus=2).remote(1, 2), ObjectRef[int])
    assert_type(add.options(name="sum").options(max_retries=0).remote(1), ObjectRef[int])
    assert_type(add.options(num_returns=1).remote(1), ObjectRef[int])
    assert_type(add.options(num_returns=0).remote(1), None)
    assert_type(add.options(num_returns=3).remote(1), list[ObjectRef[Any]])
    assert_type(split.options(num_returns=1).remote("a b"), ObjectRef[Any])
    assert_type(add.options(num_returns=count).remote(1), Any)   # could be any shape


def get_put_wait() -> None:
    ref = add.remote(1, 2)
    assert_type(actorium.get(ref), int)
    assert_type(actorium.get(ref, timeout=1.5), int)
    assert_type(actorium.get([ref, add.remote(3)]), list[int])
    assert_type(actorium.get((ref, ref)), list[int])
    assert_type(actorium.get([greet.remote(str(n)) for n in range(3)]), list[str])
    stored = actorium.put({"a": 1})
    assert_type(stored, ObjectRef[dict[str, int]])
    assert_type(actorium.get(stored), dict[str, int])
    refs = [add.remote(n) for n in range(10)]
    ready, not_ready = actorium.wait(refs, num_returns=2, timeout=5.0)
    assert_type(ready, list[ObjectRef[int]])
    assert_type(not_ready, list[ObjectRef[int]])
    actorium.cancel(ref)
    assert_type(ref.future().result(), int)
    assert_type(add.remote(ref), ObjectRef[int])                # a ref stands for its value
    assert_type(add.remote(1, actorium.put(2)), ObjectRef[int])
    assert_type(add.options(num_cpus=1).remote(ref, ref), ObjectRef[int])
    numbers: list[ObjectRef[float]] = [add.remote(1)]        # a ref to an int is one to a float
    assert_type(numbers, list[ObjectRef[float]])


async def awaiting() -> None:
    ref = add.remote(1, 2)
    assert_type(await ref, int)
    assert_type(await greet.remote("x"), str)
    assert_type(await asyncio.gather(*(add.remote(n) for n in range(3))), list[int])
    number, text = await asyncio.gather(add.remote(1), greet.remote("x"))
    assert_type(number, int)
    assert_type(text, str)
    assert_type(await asyncio.wait_for(ref, timeout=1.0), int)
    assert_type(await ref.as_future(), int)


def functional_form() -> None:
    def double(x: int) -> int:
        return 2 * x

    remote_double = actorium.remote(double)
    assert_type(remote_double.remote(4), ObjectRef[int])
