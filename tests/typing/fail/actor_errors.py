# checked by: mypy
"""Mistakes with actors that the mypy plugin reports."""

from __future__ import annotations

import actorium


@actorium.remote
class Counter:
    def __init__(self, start: int) -> None:
        self.value = start

    def incr(self, by: int = 1) -> int:
        self.value += by
        return self.value

    async def read(self) -> int:
        return self.value

    @property
    def doubled(self) -> int:
        return 2 * self.value

    @classmethod
    def make(cls) -> int:
        return 0

    def _private(self) -> None:
        pass


@actorium.virtual
class Thermostat(actorium.VirtualActor):
    async def report(self, celsius: float) -> int:
        return 1


def construction() -> None:
    Counter.remote("zero")  # E: Argument 1 to "remote" of "ActorClass" has incompatible type "str"; expected "int | ObjectRef[int]"
    Counter.remote()  # E: Missing positional argument "start"
    Counter.options(num_cpus=1).remote(1, 2)  # E: Too many arguments for "remote" of "_BoundActorClass"
    actorium.remote(Counter).remote(start="x")  # E: incompatible type "str"
    Counter(1)  # E: "Counter" is an actor class and cannot be instantiated directly; use Counter.remote(...)
    print(Counter.incr)  # E: "Counter" is an actor class: it has no attribute "incr"


def methods() -> None:
    counter = Counter.remote(0)
    counter.incr.remote("two")  # E: Argument 1 to "remote" of "ActorMethod" has incompatible type "str"
    counter.incr.remote(1, 2)  # E: Too many arguments for "remote" of "ActorMethod"
    counter.incr.remote(step=2)  # E: Unexpected keyword argument "step"
    counter.icnr.remote()  # E: Actor "Counter" has no method "icnr" (its methods: incr, read)
    counter.value.remote()  # E: Actor "Counter" has no method "value"
    counter.doubled.remote()  # E: Actor "Counter" has no method "doubled"
    counter.make.remote()  # E: Actor "Counter" has no method "make"
    counter._private.remote()  # E: Actor "Counter" has no method "_private"
    counter.incr(1)  # E: not callable
    total: str = actorium.get(counter.read.remote())  # E: Incompatible types in assignment (expression has type "int", variable has type "str")
    print(total)


def virtual_actors() -> None:
    device = Thermostat.get("device-1")
    device.report.remote("hot")  # E: incompatible type "str"; expected "float | ObjectRef[float]"
    device.save_state.remote()  # E: Actor "Thermostat" has no method "save_state"
    Thermostat.remote()  # E: "type[Thermostat]" has no attribute "remote"
