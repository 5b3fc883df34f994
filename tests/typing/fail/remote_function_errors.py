"""Mistakes with remote functions and refs that both checkers report."""

from __future__ import annotations

import actorium
from actorium import ObjectRef


@actorium.remote
def add(x: int, y: int = 0) -> int:
    return x + y


@actorium.remote
async def greet(name: str) -> str:
    return name


def wrong_arguments() -> None:
    add.remote("1")  # E: Argument 1 to "remote" of "RemoteFunction" has incompatible type "str"  # E-pyright: "Literal['1']" is not assignable to "int"
    add.remote()  # E: Missing positional argument "x"  # E-pyright: No overloads for "__call__" match
    add.remote(1, 2, 3)  # E: Too many arguments  # E-pyright: No overloads for "__call__" match
    add.remote(1, z=2)  # E: Unexpected keyword argument "z"  # E-pyright: No overloads for "__call__" match
    add.options(num_cpus=1).remote("1")  # E: incompatible type "str"  # E-pyright: "Literal['1']" is not assignable to "int"
    greet.remote(3)  # E: incompatible type "int"; expected "str | ObjectRef[str]"  # E-pyright: "Literal[3]" is not assignable to "str"


def refs_by_keyword() -> None:
    # pyright takes a ref for a value among the first positional arguments only.
    add.remote(x=actorium.put(1))  # E-pyright: "ObjectRef[int]" is not assignable to "int"


def calling_directly() -> None:
    add(1, 2)  # E: not callable  # E-pyright: is not callable


def wrong_results() -> None:
    text: str = actorium.get(add.remote(1))  # E: Incompatible types in assignment  # E-pyright: "int" is not assignable to "str"
    ref: ObjectRef[str] = add.remote(1)  # E: Incompatible types in assignment  # E-pyright: is not assignable to
    actorium.get(3)  # E: No overload variant of "get" matches  # E-pyright: No overloads for "get"
    print(text, ref)


async def awaiting() -> None:
    text: str = await add.remote(1)  # E: Incompatible types in assignment  # E-pyright: "int" is not assignable to "str"
    print(text)
