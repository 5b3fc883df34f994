# checked by: mypy
"""Methods of handles (the mypy plugin): checked against the class, results typed."""

from __future__ import annotations

import asyncio
from typing import Any, assert_type

import actorium
from actorium import ActorHandle, ActorMethod, ObjectRef


@actorium.remote
class Counter:
    def __init__(self, start: int = 0, *, step: int = 1) -> None:
        self.value = start
        self.step = step

    def incr(self, times: int = 1) -> int:
        self.value += self.step * times
        return self.value

    async def read(self) -> int:
        await asyncio.sleep(0)
        return self.value

    @actorium.method(num_returns=2)
    def both(self) -> tuple[int, int]:
        return self.value, self.step

    @actorium.method(num_returns=0)
    def reset(self) -> None:
        self.value = 0

    @staticmethod
    def describe(unit: str) -> str:
        return f"counts {unit}"

    def _helper(self) -> int:                  # private: not on handles
        return self.incr() + self.value       # its own methods are plain calls in here


@actorium.remote(max_concurrency=10)
class Empty:
    pass


class Base:
    def name(self) -> str:
        return "base"


@actorium.remote
class Derived(Base):
    def size(self) -> int:
        return 1


def handles() -> None:
    counter = Counter.remote(5, step=2)
    assert_type(counter, ActorHandle[Counter])
    incr: ActorMethod[[int], ObjectRef[int]] = counter.incr
    assert_type(incr.remote(2), ObjectRef[int])
    assert_type(counter.incr.remote(), ObjectRef[int])
    assert_type(counter.incr.remote(times=3), ObjectRef[int])
    assert_type(counter.read.remote(), ObjectRef[int])          # async def: unwrapped
    assert_type(counter.both.remote(), list[ObjectRef[Any]])    # @method(num_returns=2)
    value, step = counter.both.remote()
    assert_type(actorium.get([value, step]), list[Any])
    assert_type(counter.reset.remote(), None)
    assert_type(counter.describe.remote("apples"), ObjectRef[str])
    assert_type(counter.incr.options(num_returns=0).remote(), None)
    assert_type(counter.both.options(num_returns=1).remote(), ObjectRef[Any])
    assert_type(counter.incr.options(num_returns=1).remote(2), ObjectRef[int])
    assert_type(actorium.get(counter.incr.remote()), int)
    assert_type(Counter.options(max_restarts=1).remote(), ActorHandle[Counter])
    assert_type(Empty.remote(), ActorHandle[Empty])
    derived = Derived.remote()
    assert_type(derived.name.remote(), ObjectRef[str])          # inherited methods too
    assert_type(derived.size.remote(), ObjectRef[int])


def refs_stand_for_values() -> None:
    start = actorium.put(3)
    counter = Counter.remote(start)                           # the worker gets the int
    assert_type(counter.incr.remote(start), ObjectRef[int])
    assert_type(counter.incr.remote(counter.incr.remote()), ObjectRef[int])


def annotated(counter: ActorHandle[Counter]) -> int:
    return actorium.get(counter.incr.remote())


async def concurrently(counters: list[ActorHandle[Counter]]) -> list[int]:
    values = await asyncio.gather(*(c.incr.remote() for c in counters))
    assert_type(values, list[int])
    return values


def unknown_handles() -> None:
    found = actorium.get_actor("counter")                    # nothing known: all Any
    assert_type(found.incr.remote(1, 2, anything=True), Any)
    typed: ActorHandle[Counter] = actorium.get_actor("counter")
    assert_type(typed.incr.remote(), ObjectRef[int])


def functional_form() -> None:
    class Plain:
        def ping(self) -> str:
            return "pong"

    actor = actorium.remote(Plain).remote()
    assert_type(actor.ping.remote(), ObjectRef[str])


def supervised() -> None:
    supervisor = actorium.Supervisor()
    child = supervisor.start(Counter, 1, restart="transient")
    assert_type(child, ActorHandle[Counter])
    assert_type(supervisor.start(Counter.options(name="c")), ActorHandle[Counter])
