"""Actor classes as both checkers see them: made with actorium.remote(Class), so that the
class itself stays a class (for annotations) and the actor class is typed."""

from __future__ import annotations

from typing import Any, assert_type

import actorium
from actorium import ActorClass, ActorHandle


class _Account:
    def __init__(self, owner: str, balance: int = 0) -> None:
        self.owner = owner
        self.balance = balance

    def deposit(self, amount: int) -> int:
        self.balance += amount
        return self.balance


Account = actorium.remote(_Account)
BigAccount = actorium.remote(num_cpus=1, max_restarts=3)(_Account)


def create() -> None:
    actor_class: ActorClass[_Account] = Account       # an ActorClass that knows __init__
    assert_type(actor_class.remote("ada"), ActorHandle[_Account])
    handle = Account.remote("ada", balance=10)
    assert_type(handle, ActorHandle[_Account])
    assert_type(Account.options(name="ada", lifetime="detached").remote("ada"),
                ActorHandle[_Account])
    assert_type(BigAccount.remote("bob"), ActorHandle[_Account])
    keep(handle)
    actorium.kill(handle)
    assert_type(actorium.get_actor("ada"), ActorHandle[Any])


def keep(account: ActorHandle[_Account]) -> str:
    return account.actor_id
