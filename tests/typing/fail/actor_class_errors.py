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
    Account("ada")  # E: "ActorClass[_Account]" not callable  # E-pyright: is not callable
    Account.remote(1)  # E: incompatible type "int"; expected "str | ObjectRef[str]"
    wrong: ActorHandle[int] = Account.remote("ada")  # E: Incompatible types in assignment  # E-pyright: is not assignable to declared type "ActorHandle[int]"
    Account.options(num_cpus=1).remote()  # E: Missing positional argument "owner"
    Account.remote("ada").balance.remote(1)  # E: Too many arguments for "remote" of "ActorMethod"
    print(wrong)
