"""What ``@remote`` gives a type checker: the decorator's overloads and the shapes of results.

Nothing here runs; these are the static types of the core's classes (docs/typing.md). A
``RemoteFunction[P, R]`` or ``ActorMethod[P, R]`` has the parameters ``P`` of the function and
the type ``R`` of what ``.remote()`` returns, which ``num_returns`` decides:

    def f(...) -> T, async def f(...) -> T     ObjectRef[T]
    num_returns=0                              None
    num_returns=2, 3, ... (a literal)          list[ObjectRef[Any]]
    num_returns given as a variable            Any (it may be any of these)

The decorator picks ``R`` from the function's annotation, ``.options(num_returns=...)`` picks
it again (their overloads sit beside the classes). An actor class is ``ActorClass[C]`` for
instances ``C``: the class's ``__init__`` parameters and the methods of its handles need the
mypy plugin (``actorium.mypy_plugin``), since no annotation can map a class's methods.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, Literal, ParamSpec, Protocol, TypeVar, overload

if TYPE_CHECKING:
    from actorium._core.actor import ActorClass
    from actorium._core.ref import ObjectRef
    from actorium._core.remote_function import RemoteFunction

P = ParamSpec("P")
C = TypeVar("C")
R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)

# ``num_returns`` values that give a list of refs. A literal beyond these (or a variable) is
# typed loosely, as ``Any``, so that no correct program is refused.
ManyReturns = Literal[2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
                      23, 24, 25, 26, 27, 28, 29, 30, 31, 32]


class RemoteDecorator(Protocol):
    """``@remote(option=...)``: makes an actor class of a class, a remote function of a
    function (``.remote()`` returns the ref of its value, unwrapped from ``async def``)."""

    @overload
    def __call__(self, target: type[C], /) -> ActorClass[C]: ...  # type: ignore[overload-overlap]
    @overload
    def __call__(self, target: Callable[P, Coroutine[Any, Any, R]], /,
                 ) -> RemoteFunction[P, ObjectRef[R]]: ...
    @overload
    def __call__(self, target: Callable[P, R], /) -> RemoteFunction[P, ObjectRef[R]]: ...


class ShapedDecorator(Protocol[R_co]):
    """``@remote(num_returns=...)`` other than 1: ``.remote()`` returns ``R_co`` (a list of
    refs, None, or ``Any``)."""

    def __call__(self, target: Callable[P, Any], /) -> RemoteFunction[P, R_co]: ...
