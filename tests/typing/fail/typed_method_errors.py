"""Mistakes in calls of methods decorated with @actorium.method, through an ActorProxy: both
checkers report them (pyright without a plugin)."""

from __future__ import annotations

import actorium
from actorium.actor import ActorProxy


class _Store:
    @actorium.method
    def put(self, key: str, value: int = 0) -> int:
        return value

    @actorium.method
    async def size(self) -> int:
        return 0

    def undecorated(self) -> int:
        return 0


class _Other:
    @actorium.method
    def put(self, key: str, value: int = 0) -> int:
        return value


Store = actorium.remote(_Store)
Other = actorium.remote(_Other)


def mistakes(store: ActorProxy[_Store]) -> None:
    store.put.remote(1)  # E: incompatible type "int"; expected "str | ObjectRef[str]"  # E-pyright: "Literal[1]" cannot be assigned to parameter "key" of type "str"
    store.put.remote("a", values=2)  # E: Unexpected keyword argument "values"  # E-pyright: No overloads for "__call__" match
    store.size.remote(1)  # E: Too many arguments for "remote" of "ActorMethod"  # E-pyright: No overloads for "__call__" match
    text: str = actorium.get(store.size.remote())  # E: Incompatible types in assignment  # E-pyright: "int" is not assignable to "str"
    store.reset.remote()  # E: Actor "_Store" has no method "reset"  # E-pyright: Cannot access attribute "reset" for class "type[_Store]"
    store.put("a")  # E: "ActorMethod[[str, int], ObjectRef[int]]" not callable  # E-pyright: Object of type "ActorMethod[(key: str, value: int = 0), ObjectRef[int]]" is not callable
    store.put.options(num_cpus=1)  # E: Unexpected keyword argument "num_cpus"  # E-pyright: No overloads for "options" match
    print(text)


def two_classes(store: ActorProxy[_Store, _Other]) -> None:  # E: ActorProxy takes one type argument (the actor's class), not 2  # E-pyright: Too many type arguments provided for "ActorProxy
    print(store)


def a_handle_of_another_class() -> None:
    mistakes(Other.remote())  # E: Argument 1 to "mistakes" has incompatible type "ActorHandle[_Other]"; expected "ActorHandle[_Store]"  # E-pyright: cannot be assigned to parameter "store" of type "ActorProxy[_Store]"


def what_pyright_cannot_type(store: ActorProxy[_Store]) -> None:
    # Without the plugin, only decorated methods are found through an ActorProxy (mypy's
    # plugin types every method); the handle's own attributes need an ActorHandle.
    store.undecorated.remote()  # E-pyright: Cannot access attribute "remote" for class "FunctionType"
    print(store.actor_id)  # E-pyright: Cannot access attribute "actor_id" for class "type[_Store]"
    actorium.kill(store)  # E-pyright: Argument of type "ActorProxy[_Store]" cannot be assigned to parameter "actor"
