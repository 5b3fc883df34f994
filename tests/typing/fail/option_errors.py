"""Options are typed: a misspelled option, one of another kind, or a value of the wrong type
is reported where it is written (the run time refuses them too, naming them)."""

from __future__ import annotations

import actorium


@actorium.remote(num_cpu=2)  # E: Unexpected keyword argument "num_cpu" for overloaded function "remote"; did you mean "num_cpus"  # E-pyright: No overloads for "remote"
def misspelled(x: int) -> int:
    return x


@actorium.remote(max_restarts=1)  # E: incompatible type "Callable[[int], int]"; expected "type[int]"  # E-pyright: cannot be assigned to parameter "target" of type "type[C@__call__]"
def actor_option_on_a_function(x: int) -> int:
    return x


@actorium.remote
def add(x: int) -> int:
    return x


class _Counter:
    def incr(self) -> int:
        return 1

    @actorium.method(num_retruns=2)  # E: Unexpected keyword argument "num_retruns"  # E-pyright: No overloads for "method" match
    def pair(self) -> tuple[int, int]:
        return 1, 2


Counter = actorium.remote(_Counter)


def calls() -> None:
    add.options(num_cpu=1).remote(1)  # E: Unexpected keyword argument "num_cpu"  # E-pyright: No overloads for "options"
    add.options(max_calls=2).remote(1)  # E: Unexpected keyword argument "max_calls"  # E-pyright: No overloads for "options"
    add.options(max_retries="3").remote(1)  # E: No overload variant of "options" of "RemoteFunction" matches argument type "str"  # E-pyright: "Literal['3']" cannot be assigned to parameter "max_retries"
    add.options(lifetime="detached").remote(1)  # E: Unexpected keyword argument "lifetime"  # E-pyright: No overloads for "options"
    Counter.options(max_restart=1).remote()  # E: Unexpected keyword argument "max_restart"  # E-pyright: No parameter named "max_restart"
    Counter.options(lifetime="forever").remote()  # E: incompatible type "Literal['forever']"  # E-pyright: cannot be assigned to parameter "lifetime"
    Counter.options(max_retries=1).remote()  # E: Unexpected keyword argument "max_retries"  # E-pyright: No parameter named "max_retries"
    Counter.remote().incr.options(name="bump").remote()  # E: Unexpected keyword argument "name" for overloaded function "options" of "ActorMethod"  # E-pyright: No overloads for "options"
