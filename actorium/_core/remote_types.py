"""What ``@remote`` gives a type checker: the decorator's overloads, typed options, the
shapes of results.

Nothing here changes what runs; these are the static types of the core's classes
(docs/typing.md). A ``RemoteFunction[P, R]`` or ``ActorMethod[P, R]`` has the parameters
``P`` of the function and the type ``R`` of what ``.remote()`` returns, which
``num_returns`` and the function's kind decide:

    def f(...) -> T, async def f(...) -> T     ObjectRef[T]
    a generator (-> Generator[T, ...] or       ObjectRefGenerator[T] (it streams, as in Ray)
      AsyncGenerator[T, ...]), "streaming"
    num_returns=0                              None
    num_returns=2, 3, ... (a literal)          list[ObjectRef[Any]]
    num_returns="dynamic"                      ObjectRef[DynamicObjectRefGenerator]
    num_returns given as a variable            Any (it may be any of these)

An annotation alone cannot tell a generator function from a function that returns an
iterator (``-> Iterator[T]`` fits both): their ``.remote()`` is ``Any`` here, and the mypy
plugin, which sees whether the function yields, makes it a stream or a ref.

An actor class is ``ActorClass[C]`` for instances ``C``. The decorator's result is
``TypedActorClass[C, type[C]]``, an ``ActorClass[C]`` that also carries the class object,
from which ``.remote(...)`` takes ``C.__init__``'s parameters (a checker turns a class into
its constructor's signature). The methods of handles need the mypy plugin
(``actorium.mypy_plugin``): no annotation can map a class's methods onto another type.
Without it (pyright), a method decorated with ``@actorium.method`` is typed, to a checker, as
a ``MethodDescriptor``: called on an instance (in the actor's own code) it is the method, and
read from the class it is the ``ActorMethod[P, R]`` of its handles; ``ActorProxy[C]`` (Ray's
name: ``ActorHandle[C] | type[C]``, as a checker sees it) finds a handle's methods there.

Options are keyword arguments typed by the ``TypedDict`` of their kind, so that a
misspelled or unsupported option is an error where it is written (the same options the run
time accepts, ``_core/options.py``; tests/test_typing.py keeps the two lists equal).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable, Coroutine, Generator, Iterator
from typing import (
    TYPE_CHECKING,
    Any,
    Concatenate,
    Generic,
    Literal,
    Never,
    ParamSpec,
    Protocol,
    Self,
    TypeAlias,
    TypedDict,
    TypeVar,
    Union,
    Unpack,
    overload,
)

if TYPE_CHECKING:
    from actorium._core.actor import ActorClass, ActorHandle, ActorMethod, _BoundActorClass
    from actorium._core.ref import ObjectRef
    from actorium._core.remote_function import RemoteFunction
    from actorium._core.streams import ObjectRefGenerator
    from actorium._runtime_env.spec import RuntimeEnv

P = ParamSpec("P")
C = TypeVar("C")
K = TypeVar("K", covariant=True)
R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)
X_co = TypeVar("X_co", covariant=True)
C_co = TypeVar("C_co", covariant=True)
I = TypeVar("I", bound=Iterator[Any] | AsyncIterator[Any])  # noqa: E741

# mypy takes a name ``MYPY`` for true, as it takes ``TYPE_CHECKING`` (and pyright does not):
# ``if MYPY or not TYPE_CHECKING`` picks what mypy and the run time see, its ``else`` what
# pyright sees. The two differ in one place, ``.remote(...)``: the mypy plugin makes each
# parameter ``T`` take ``T | ObjectRef[T]``; pyright, which has no plugin, gets
# ``RefsForValues`` below.
MYPY = False

# ``num_returns`` values that give a list of refs. A literal beyond these (or a variable) is
# typed loosely, as ``Any``, so that no correct program is refused.
ManyReturns = Literal[2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
                      23, 24, 25, 26, 27, 28, 29, 30, 31, 32]

# ---------------------------------------------------------------------- options
class _PlacementOptions(TypedDict, total=False):
    """What tasks and actors both reserve and where they run."""

    num_gpus: float
    memory: float
    resources: dict[str, float]
    # "DEFAULT", "SPREAD", a NodeAffinitySchedulingStrategy or PlacementGroupSchedulingStrategy
    # (actorium.util.scheduling_strategies, a layer above this one): checked at run time.
    scheduling_strategy: Any
    name: str | None
    runtime_env: RuntimeEnv | dict[str, Any] | None
    enable_task_events: bool


class CommonOptions(_PlacementOptions, total=False):
    """``@remote(...)`` options a function and a class both take."""

    num_cpus: float


class TaskOverrideOptions(CommonOptions, total=False):
    """``f.options(...)`` (``num_returns`` is a parameter of its own, it types the result)."""

    max_retries: int
    retry_exceptions: bool | list[type[BaseException]] | tuple[type[BaseException], ...]
    _generator_backpressure_num_objects: int | None


class TaskOptionsArgs(TaskOverrideOptions, total=False):
    """``@remote(...)`` on a function: also ``max_calls``, which ``.options()`` refuses."""

    max_calls: int | None


class ActorOptionsArgs(_PlacementOptions, total=False):
    """``@remote(...)`` on a class and ``ActorClass.options(...)``."""

    num_cpus: float | None
    max_restarts: int
    max_task_retries: int
    restart_backoff: tuple[float, float] | list[float]
    restart_intensity: tuple[int, float] | list[float] | None
    checkpoint_every: int | None
    checkpoint_interval: float | None
    max_concurrency: int | None
    namespace: str | None
    lifetime: Literal["detached", "non_detached"] | None
    get_if_exists: bool
    max_pending_calls: int | None
    # Only in @remote(...): .options() refuses it at run time, as Ray does (one TypedDict
    # serves both here, so a checker does not catch that case).
    concurrency_groups: dict[str, int] | None


class MethodOptionsArgs(TypedDict, total=False):
    """``handle.method.options(...)`` and ``@actorium.method(...)`` (besides ``num_returns``)."""

    concurrency_group: str | None
    _generator_backpressure_num_objects: int | None
    enable_task_events: bool | None
    retry_exceptions: bool | list[type[BaseException]] | tuple[type[BaseException], ...]


class MethodDecoratorArgs(MethodOptionsArgs, total=False):
    """``@actorium.method(...)``: the mypy plugin reads ``num_returns`` from the call."""

    num_returns: int | str


# ---------------------------------------------------------------------- decorators
class FunctionDecorator(Protocol):
    """``@remote(option=...)`` with task options: makes a remote function of a function
    (``.remote()`` returns the ref of its value, unwrapped from ``async def``, or the stream
    of a generator's items)."""

    @overload
    def __call__(self, target: Callable[P, Coroutine[Any, Any, R]], /,
                 ) -> RemoteFunction[P, ObjectRef[R]]: ...
    @overload
    def __call__(  # type: ignore[overload-overlap]
            self, target: Callable[P, Generator[R, Any, Any]], /,
    ) -> RemoteFunction[P, ObjectRefGenerator[R]]: ...
    @overload
    def __call__(  # type: ignore[overload-overlap]
            self, target: Callable[P, AsyncGenerator[R, Any]], /,
    ) -> RemoteFunction[P, ObjectRefGenerator[R]]: ...
    @overload
    def __call__(self, target: Callable[P, Iterator[Any] | AsyncIterator[Any]], /,
                 ) -> RemoteFunction[P, Any]: ...
    @overload
    def __call__(self, target: Callable[P, R], /) -> RemoteFunction[P, ObjectRef[R]]: ...


class ActorDecorator(Protocol):
    """``@remote(option=...)`` with actor options: makes an actor class of a class."""

    def __call__(self, target: type[C], /) -> TypedActorClass[C, type[C]]: ...


class RemoteDecorator(Protocol):
    """``@remote(option=...)`` with options both kinds take: a class or a function."""

    @overload
    def __call__(  # type: ignore[overload-overlap]
            self, target: type[C], /,
    ) -> TypedActorClass[C, type[C]]: ...
    @overload
    def __call__(self, target: Callable[P, Coroutine[Any, Any, R]], /,
                 ) -> RemoteFunction[P, ObjectRef[R]]: ...
    @overload
    def __call__(  # type: ignore[overload-overlap]
            self, target: Callable[P, Generator[R, Any, Any]], /,
    ) -> RemoteFunction[P, ObjectRefGenerator[R]]: ...
    @overload
    def __call__(  # type: ignore[overload-overlap]
            self, target: Callable[P, AsyncGenerator[R, Any]], /,
    ) -> RemoteFunction[P, ObjectRefGenerator[R]]: ...
    @overload
    def __call__(self, target: Callable[P, Iterator[Any] | AsyncIterator[Any]], /,
                 ) -> RemoteFunction[P, Any]: ...
    @overload
    def __call__(self, target: Callable[P, R], /) -> RemoteFunction[P, ObjectRef[R]]: ...


class StreamingDecorator(Protocol):
    """``@remote(num_returns="streaming")``: the stream of what the generator yields."""

    @overload
    def __call__(self, target: Callable[P, Iterator[R] | AsyncIterator[R]], /,
                 ) -> RemoteFunction[P, ObjectRefGenerator[R]]: ...
    @overload
    def __call__(self, target: Callable[P, Any], /,
                 ) -> RemoteFunction[P, ObjectRefGenerator[Any]]: ...


class ShapedDecorator(Protocol[R_co]):
    """``@remote(num_returns=...)`` other than 1: ``.remote()`` returns ``R_co`` (a list of
    refs, None, or ``Any``)."""

    def __call__(self, target: Callable[P, Any], /) -> RemoteFunction[P, R_co]: ...


# ---------------------------------------------------------------------- refs for values
if TYPE_CHECKING and not MYPY:  # pyright's alone
    class RefsForValues(Protocol[P, R_co]):
        """``.remote(...)`` as pyright sees it: the worker gets the value of a top-level
        ``ObjectRef`` argument, as in Ray. A ``ParamSpec`` cannot be rewritten parameter by
        parameter into ``T | ObjectRef[T]``, so a call with a ref among its first four
        positional arguments is taken as it is (the other arguments unchecked), and any
        other call is checked against ``P`` (the last overload, whose errors pyright
        reports when none matches)."""

        @overload
        def __call__(self, ref: ObjectRef[Any], /, *args: Any, **kwargs: Any) -> R_co: ...
        # The same calls: a wrong call then matches none of two, not the one above.
        @overload
        def __call__(  # pyright: ignore[reportOverlappingOverload]
                self, ref: ObjectRef[Any], arg: Any = ..., /, *args: Any, **kwargs: Any,
        ) -> R_co: ...
        @overload
        def __call__(self, arg: Any, ref: ObjectRef[Any], /, *args: Any, **kwargs: Any,
                     ) -> R_co: ...
        @overload
        def __call__(self, arg: Any, arg1: Any, ref: ObjectRef[Any], /, *args: Any,
                     **kwargs: Any) -> R_co: ...
        @overload
        def __call__(self, arg: Any, arg1: Any, arg2: Any, ref: ObjectRef[Any], /,
                     *args: Any, **kwargs: Any) -> R_co: ...
        @overload
        def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R_co: ...


# ---------------------------------------------------------------------- actor classes
if TYPE_CHECKING:
    class TypedActorClass(ActorClass[C], Generic[C, K]):
        """``ActorClass[C]`` knowing its class object ``K`` (``type[C]``): a checker turns
        ``K`` into the constructor's signature, which ``.remote()`` takes."""

        if MYPY:  # the plugin gives remote() C.__init__'s parameters, refs allowed
            def remote(  # pyright: ignore[reportRedeclaration]
                    self: TypedActorClass[C, Callable[P, Any]],
                       *args: P.args, **kwargs: P.kwargs) -> ActorHandle[C]: ...
        else:     # what pyright sees, as in RefsForValues
            @overload
            def remote(self, ref: ObjectRef[Any], /, *args: Any, **kwargs: Any,
                       ) -> ActorHandle[C]: ...
            @overload
            def remote(self, arg: Any, ref: ObjectRef[Any], /, *args: Any, **kwargs: Any,
                       ) -> ActorHandle[C]: ...
            @overload
            def remote(self: TypedActorClass[C, Callable[P, Any]],
                       *args: P.args, **kwargs: P.kwargs) -> ActorHandle[C]: ...

        def options(self, **options: Unpack[ActorOptionsArgs],
                    ) -> TypedBoundActorClass[C, K]: ...

    class TypedBoundActorClass(_BoundActorClass[C], Generic[C, K]):
        """``C.options(...)`` of a ``TypedActorClass``."""

        if MYPY:
            def remote(  # pyright: ignore[reportRedeclaration]
                    self: TypedBoundActorClass[C, Callable[P, Any]],
                       *args: P.args, **kwargs: P.kwargs) -> ActorHandle[C]: ...
        else:
            @overload
            def remote(self, ref: ObjectRef[Any], /, *args: Any, **kwargs: Any,
                       ) -> ActorHandle[C]: ...
            @overload
            def remote(self, arg: Any, ref: ObjectRef[Any], /, *args: Any, **kwargs: Any,
                       ) -> ActorHandle[C]: ...
            @overload
            def remote(self: TypedBoundActorClass[C, Callable[P, Any]],
                       *args: P.args, **kwargs: P.kwargs) -> ActorHandle[C]: ...

        def options(self, **options: Unpack[ActorOptionsArgs],
                    ) -> TypedBoundActorClass[C, K]: ...


# ---------------------------------------------------------------------- typed methods
if TYPE_CHECKING:
    class MethodDescriptor(Protocol[P, X_co, R_co]):
        """What ``@actorium.method`` makes of a method, to a checker (at run time it returns
        the function itself): read from an instance, the method (parameters ``P``, result
        ``X_co``, the actor's own calls); read from the class, the ``ActorMethod[P, R_co]``
        of handles, which is where ``ActorProxy[C]`` finds it."""

        @overload
        def __get__(self, instance: None, owner: type[Any], /) -> ActorMethod[P, R_co]: ...
        @overload
        def __get__(self, instance: object, owner: type[Any] | None = None, /,
                    ) -> Callable[P, X_co]: ...
        # Under @staticmethod (which needs a callable): the method, its parameters unknown.
        def __call__(self, *args: Any, **kwargs: Any) -> X_co: ...

    class MethodDecorator(Protocol):
        """``@actorium.method(...)`` without ``num_returns`` (or 1): as ``@actorium.method``."""

        @overload  # @actorium.method(...) over @staticmethod: the static method, as it is
        def __call__(  # type: ignore[overload-overlap]
                self, method: staticmethod[P, R], /) -> staticmethod[P, R]: ...
        @overload
        def __call__(self, method: Callable[Concatenate[Any, P], Coroutine[Any, Any, R]], /,
                     ) -> MethodDescriptor[P, Coroutine[Any, Any, R], ObjectRef[R]]: ...
        @overload
        def __call__(  # type: ignore[overload-overlap]
                self, method: Callable[Concatenate[Any, P], Generator[R, Any, Any]], /,
        ) -> MethodDescriptor[P, Generator[R, Any, Any], ObjectRefGenerator[R]]: ...
        @overload
        def __call__(  # type: ignore[overload-overlap]
                self, method: Callable[Concatenate[Any, P], AsyncGenerator[R, Any]], /,
        ) -> MethodDescriptor[P, AsyncGenerator[R, Any], ObjectRefGenerator[R]]: ...
        @overload
        def __call__(self, method: Callable[Concatenate[Any, P], I], /,
                     ) -> MethodDescriptor[P, I, Any]: ...
        @overload
        def __call__(self, method: Callable[Concatenate[Any, P], R], /,
                     ) -> MethodDescriptor[P, R, ObjectRef[R]]: ...

    class StreamingMethodDecorator(Protocol):
        """``@actorium.method(num_returns="streaming")``: the stream of what it yields."""

        @overload  # @actorium.method(...) over @staticmethod: the static method, as it is
        def __call__(  # type: ignore[overload-overlap]
                self, method: staticmethod[P, R], /) -> staticmethod[P, R]: ...
        @overload
        def __call__(self, method: Callable[Concatenate[Any, P], Iterator[R]], /,
                     ) -> MethodDescriptor[P, Iterator[R], ObjectRefGenerator[R]]: ...
        @overload
        def __call__(self, method: Callable[Concatenate[Any, P], AsyncIterator[R]], /,
                     ) -> MethodDescriptor[P, AsyncIterator[R], ObjectRefGenerator[R]]: ...

    class ShapedMethodDecorator(Protocol[R_co]):
        """``@actorium.method(num_returns=...)`` other than 1: ``.remote()`` returns ``R_co``."""

        @overload  # @actorium.method(...) over @staticmethod: the static method, as it is
        def __call__(  # type: ignore[overload-overlap]
                self, method: staticmethod[P, R], /) -> staticmethod[P, R]: ...
        @overload
        def __call__(self, method: Callable[Concatenate[Any, P], R], /,
                     ) -> MethodDescriptor[P, R, R_co]: ...


class _NotAMethod(Protocol):
    """What the handle half of ``ActorProxy`` gives for any name: nothing (``Never``) added
    to the method that the class half finds."""

    def remote(self, *args: Any, **kwargs: Any) -> Never: ...
    def bind(self, *args: Any, **kwargs: Any) -> Any: ...
    def options(self, *args: Any, **kwargs: Any) -> Self: ...


class _HandleView(Protocol[C_co]):
    """An ``ActorHandle[C]`` as ``ActorProxy[C]`` sees it."""

    def _actorium_instance(self) -> C_co: ...
    def __getattr__(self, name: str) -> _NotAMethod: ...


ActorProxy: TypeAlias = Union[_HandleView[C], type[C]]  # noqa: UP007 (a runtime alias)
"""The handle of an actor of class ``C``, typed for pyright as Ray types it: ``proxy.m`` is
the ``ActorMethod`` of ``C.m`` when ``m`` is decorated with ``@actorium.method`` (undecorated
methods are errors there). A function parameter ``h: ActorProxy[C]`` takes an
``ActorHandle[C]``; the mypy plugin reads ``ActorProxy[C]`` as ``ActorHandle[C]``."""
