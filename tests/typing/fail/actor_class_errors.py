"""Mistakes with actor classes made by actorium.remote(Class), as each checker reports them."""

from __future__ import annotations

import actorium
from actorium import ActorHandle


class _Account:
    def __init__(self, owner: str) -> None:
        self.owner = owner

    def balance(self) -> int:
        return 0


Account = actorium.remote(_Account)


def mistakes() -> None:
    Account("ada")  # E: "TypedActorClass[_Account, type[_Account]]" not callable  # E-pyright: is not callable
    Account.remote(1)  # E: incompatible type "int"; expected "str | ObjectRef[str]"  # E-pyright: "Literal[1]" cannot be assigned to parameter "owner" of type "str"
    wrong: ActorHandle[int] = Account.remote("ada")  # E: Incompatible types in assignment  # E-pyright: is not assignable to declared type "ActorHandle[int]"
    Account.options(num_cpus=1).remote()  # E: Missing positional argument "owner"  # E-pyright: No overloads for "remote" match
    Account.remote("ada").balance.remote(1)  # E: Too many arguments for "remote" of "ActorMethod"
    print(wrong)


@actorium.remote
class Decorated:
    def __init__(self, size: int) -> None:
        self.size = size


def decorated_mistakes() -> None:
    Decorated.remote("big")  # E: incompatible type "str"; expected "int | ObjectRef[int]"  # E-pyright: "Literal['big']" cannot be assigned to parameter "size" of type "int"
    Decorated.options(max_restarts=1).remote()  # E: Missing positional argument "size"  # E-pyright: No overloads for "remote" match
    Decorated.remote(size=1, extra=2)  # E: Unexpected keyword argument "extra"  # E-pyright: No overloads for "remote" match
