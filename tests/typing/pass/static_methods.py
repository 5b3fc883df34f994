# checked by: mypy
"""@actorium.method on a static method, in either order: mypy keeps the method as it is (no
``self`` taken from its parameters); pyright does not tell a static method from a method
there (docs/typing.md)."""

from __future__ import annotations

from typing import Any, assert_type

import actorium
from actorium import ActorHandle, ObjectRef


class _Units:
    @staticmethod
    @actorium.method(num_returns=1)
    def grams(kilos: int) -> int:
        return kilos * 1000

    @actorium.method
    @staticmethod
    def kilos(grams: int) -> float:
        return grams / 1000

    @actorium.method(num_returns=2)
    def both(self, kilos: int) -> tuple[int, float]:
        return self.grams(kilos), self.kilos(kilos)   # plain calls in the actor


Units = actorium.remote(_Units)


def convert(units: ActorHandle[_Units]) -> None:
    assert_type(units.grams.remote(2), ObjectRef[int])
    assert_type(units.kilos.remote(2000), ObjectRef[float])
    assert_type(units.both.remote(1), list[ObjectRef[Any]])
    assert_type(_Units.grams(3), int)


convert(Units.remote())
