"""Actors: ``@remote class C``, ``C.remote(...)`` -> ``ActorHandle``, ``h.method.remote(...)``.

Creating an actor sends CREATE_ACTOR to the node and returns a handle at once; calls made
before the actor is placed wait in the caller and go out, in order, as soon as the node says
where the actor lives. After that, calls go straight to the hosting worker.

A handle can be passed to tasks and other actors; it carries the actor's address when known.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Coroutine, Generator, Iterator
from typing import (
    TYPE_CHECKING,
    Any,
    Concatenate,
    Generic,
    Literal,
    ParamSpec,
    TypeVar,
    Unpack,
    overload,
)

from actorium._core import context
from actorium._core.calls import ActorState
from actorium._core.code import ShippableCode
from actorium._core.options import (
    DEFAULT_CONCURRENCY_GROUP,
    DYNAMIC_RETURNS,
    ActorOptions,
    MethodOptions,
    stream_backpressure,
    wire_num_returns,
)
from actorium._core.remote_function import (
    check_generator_returns,
    is_generator_function,
    retry_exceptions_to_wire,
)
from actorium._core.remote_types import MYPY
from actorium._core.runtime import Runtime
from actorium._core.signature import ArgumentCheck
from actorium._transport.protocol import Kind, pack
from actorium.exceptions import ActorDiedError

if TYPE_CHECKING and not MYPY:  # the types pyright sees in the branches mypy does not
    from actorium._core.remote_types import RefsForValues
if TYPE_CHECKING:
    from actorium._core.ref import ObjectRef
    from actorium._core.remote_types import (
        ActorOptionsArgs,
        ManyReturns,
        MethodDecorator,
        MethodDecoratorArgs,
        MethodDescriptor,
        MethodOptionsArgs,
        ShapedMethodDecorator,
        StreamingMethodDecorator,
    )
    from actorium._core.streams import DynamicObjectRefGenerator, ObjectRefGenerator

T = TypeVar("T")
P = ParamSpec("P")
# What a method's .remote() returns: ObjectRef[T], or a list of refs, None... (remote_types.py).
R = TypeVar("R", covariant=True)
F = TypeVar("F", bound=Callable[..., Any])
_I = TypeVar("_I", bound=Iterator[Any] | AsyncIterator[Any])

METHOD_OPTIONS_ATTRIBUTE = "__actorium_method_options__"
_NUM_RETURNS_GIVEN = "__actorium_num_returns_given__"
_DEFAULT_ASYNC_CONCURRENCY = 1000


@overload  # over @staticmethod: the static method, as it is
def method(  # type: ignore[overload-overlap]
        function: staticmethod[P, T], /) -> staticmethod[P, T]: ...
@overload
def method(function: Callable[Concatenate[Any, P], Coroutine[Any, Any, T]], /,
           ) -> MethodDescriptor[P, Coroutine[Any, Any, T], ObjectRef[T]]: ...
@overload
def method(  # type: ignore[overload-overlap]
        function: Callable[Concatenate[Any, P], Generator[T, Any, Any]], /,
) -> MethodDescriptor[P, Generator[T, Any, Any], ObjectRefGenerator[T]]: ...
@overload
def method(  # type: ignore[overload-overlap]
        function: Callable[Concatenate[Any, P], AsyncGenerator[T, Any]], /,
) -> MethodDescriptor[P, AsyncGenerator[T, Any], ObjectRefGenerator[T]]: ...
@overload
def method(function: Callable[Concatenate[Any, P], _I], /) -> MethodDescriptor[P, _I, Any]: ...
@overload
def method(function: Callable[Concatenate[Any, P], T], /,
           ) -> MethodDescriptor[P, T, ObjectRef[T]]: ...
@overload
def method(  # type: ignore[overload-overlap]
        *, num_returns: Literal[1] = ..., **options: Unpack[MethodOptionsArgs],
) -> MethodDecorator: ...
@overload
def method(*, num_returns: Literal[0], **options: Unpack[MethodOptionsArgs],
           ) -> ShapedMethodDecorator[None]: ...
@overload
def method(*, num_returns: ManyReturns, **options: Unpack[MethodOptionsArgs],
           ) -> ShapedMethodDecorator[list[ObjectRef[Any]]]: ...
@overload
def method(  # type: ignore[overload-overlap]
        *, num_returns: Literal["streaming"], **options: Unpack[MethodOptionsArgs],
) -> StreamingMethodDecorator: ...
@overload
def method(*, num_returns: Literal["dynamic"], **options: Unpack[MethodOptionsArgs],
           ) -> ShapedMethodDecorator[ObjectRef[DynamicObjectRefGenerator]]: ...
@overload
def method(*, num_returns: int | str, **options: Unpack[MethodOptionsArgs],
           ) -> ShapedMethodDecorator[Any]: ...
def method(function: Callable[..., Any] | None = None, /,
           **options: Unpack[MethodDecoratorArgs]) -> Any:
    """Decorate an actor method, bare (``@actorium.method``) or with options
    (``@actorium.method(num_returns=2)``), as in Ray.

    The method itself is unchanged at run time. To a type checker the decorated method is
    typed for handles too (``MethodDescriptor``, _core/remote_types.py), which is how pyright
    checks calls through an ``ActorProxy[C]``; the mypy plugin reads ``num_returns`` from
    this decorator to type the calls of any handle."""
    parsed = MethodOptions.build(**options)

    def decorate(function: F) -> F:
        if not callable(function):
            raise TypeError(f"@actorium.method decorates a method, not {function!r}")
        check_generator_returns(function, parsed.num_returns)
        setattr(function, METHOD_OPTIONS_ATTRIBUTE, parsed)
        # Only a num_returns given makes a generator method return one value (as in Ray):
        # @method(retry_exceptions=True) on a generator still streams.
        setattr(function, _NUM_RETURNS_GIVEN, "num_returns" in options)
        return function

    return decorate if function is None else decorate(function)


class _MethodInfo:
    __slots__ = ("name", "num_returns", "check", "groups", "function")

    def __init__(self, name: str, num_returns: int, check: ArgumentCheck | None,
                 groups: frozenset[str] | None = None, function: Any = None) -> None:
        self.name = name
        self.num_returns = num_returns
        self.check = check
        # The concurrency groups of its actor, where the caller knows them (None: it does
        # not; the actor itself refuses a call naming a group it lacks).
        self.groups = groups
        self.function = function   # the method itself where known (not in a rebuilt handle)


def _method_groups(cls_name: str, methods: dict[str, Any],
                   groups: dict[str, int] | None) -> dict[str, str]:
    """Which concurrency group each method names; a group the class lacks is an error here,
    where the class is defined (Ray fails with a bare assertion when it is created)."""
    named = {}
    for name, member in methods.items():
        method_options = getattr(member, METHOD_OPTIONS_ATTRIBUTE, None)
        group = method_options.concurrency_group if method_options else None
        if group is None or group == DEFAULT_CONCURRENCY_GROUP:
            continue
        if group not in (groups or {}):
            raise ValueError(
                f"{cls_name}.{name} names concurrency group {group!r}, which {cls_name} does not "
                f"define; its groups are: {', '.join(sorted(groups or {})) or '(none)'} (give "
                f"them with @remote(concurrency_groups={{{group!r}: n}}))")
        named[name] = group
    return named


def _public_methods(cls: type) -> dict[str, Any]:
    methods = {}
    for name, member in inspect.getmembers(cls):
        if name.startswith("__") and name != "__call__":
            continue
        if inspect.isfunction(member) or inspect.ismethoddescriptor(member):
            methods[name] = member
    return methods


def _is_async_class(cls: type) -> bool:
    return any(inspect.iscoroutinefunction(m) or inspect.isasyncgenfunction(m)
               for m in _public_methods(cls).values())


class ActorClass(Generic[T]):
    """A class whose instances live in workers; create one with ``.remote(...)``.

    To a type checker it is ``ActorClass[C]`` for instances of ``C``, and ``.remote()``
    returns ``ActorHandle[C]`` (with the mypy plugin, checked against ``C.__init__``).
    """

    def __init__(self, cls: type[T], options: ActorOptions) -> None:
        self._cls = cls
        self._options = options
        self._name = cls.__qualname__
        self._code = ShippableCode(cls)
        self._is_async = _is_async_class(cls)
        self._init_check = ArgumentCheck(cls.__init__, f"{self._name}.__init__",
                                         skip_first=True) if "__init__" in vars(cls) or \
            cls.__init__ is not object.__init__ else None
        self._methods: dict[str, _MethodInfo] = {}
        # Methods whose @method(enable_task_events=...) overrides the actor's option.
        self._method_events: dict[str, bool] = {}
        # Methods with @method(retry_exceptions=...): True or the pickled classes.
        self._method_retries: dict[str, Any] = {}
        public = _public_methods(cls)
        self._method_groups = _method_groups(self._name, public, options.concurrency_groups)
        groups = frozenset({DEFAULT_CONCURRENCY_GROUP, *(options.concurrency_groups or {})})
        for name, member in public.items():
            method_options = getattr(member, METHOD_OPTIONS_ATTRIBUTE, None)
            num_returns = wire_num_returns(
                method_options.num_returns if method_options else 1,
                method_options._generator_backpressure_num_objects if method_options else None)
            if num_returns == 1 and is_generator_function(member) and not getattr(
                    member, _NUM_RETURNS_GIVEN, False):
                num_returns = wire_num_returns("streaming", None)  # as in Ray
            if method_options is not None and method_options.enable_task_events is not None:
                self._method_events[name] = method_options.enable_task_events
            if method_options is not None and method_options.retry_exceptions:
                self._method_retries[name] = retry_exceptions_to_wire(
                    method_options.retry_exceptions)
            is_static = isinstance(inspect.getattr_static(cls, name), staticmethod)
            check = ArgumentCheck(member, f"{self._name}.{name}", skip_first=not is_static) \
                if inspect.isfunction(member) else None
            self._methods[name] = _MethodInfo(name, num_returns, check, groups,
                                              function=member)
        self.__name__ = cls.__name__
        self.__qualname__ = cls.__qualname__
        self.__module__ = cls.__module__
        self.__doc__ = cls.__doc__

    if not TYPE_CHECKING:  # instantiating it is always an error, so type checkers say so
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            raise TypeError(f"actor class {self._name} cannot be instantiated directly; "
                            f"use {self._name}.remote(...) to create an actor")

    def remote(self, *args: Any, **kwargs: Any) -> ActorHandle[T]:
        """Create the actor; returns its handle at once (construction happens remotely)."""
        return self._create(args, kwargs, self._options)

    def options(self, **options: Unpack[ActorOptionsArgs]) -> _BoundActorClass[T]:
        return _BoundActorClass(self, ActorOptions.override(self._options, **options))

    def bind(self, *args: Any, **kwargs: Any) -> Any:
        """A DAG node that creates this actor each time its DAG executes (``actorium.dag``).

        Creates nothing now; the arguments are checked against ``__init__`` here, and the
        node's methods (``node.method.bind(...)``) against theirs.
        """
        return self._bind_node(self, args, kwargs)

    def _bind_node(self, target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if self._init_check is not None:
            self._init_check.check(args, kwargs)
        from actorium.dag.class_node import ClassNode  # the DAG layer builds on this
        return ClassNode(target, args, kwargs, self._name, self._methods)

    def _create(self, args: tuple[Any, ...], kwargs: dict[str, Any], options: ActorOptions,
                supervision: dict[str, Any] | None = None) -> ActorHandle[T]:
        """Send CREATE_ACTOR; ``supervision`` names the supervisor and the child's spec."""
        runtime = context.runtime_or_start()
        if self._init_check is not None:
            self._init_check.check(args, kwargs)
        code_id, code = self._code.pickled()
        fmt, data, buffers, refs = runtime.dumps_call_args(f"{self._name}.__init__", args,
                                                           kwargs)
        deps = runtime.deps_of(refs) if refs else []
        actor_id = runtime.ids.next_id()
        concurrency = options.max_concurrency or (
            _DEFAULT_ASYNC_CONCURRENCY if self._is_async else 1)
        wire = options.to_wire()
        env = runtime.envs.wire_for(options.runtime_env)
        if env is not None:
            wire["runtime_env"] = env
        if wire["namespace"] is None:
            wire["namespace"] = runtime.namespace
        running = context.current_execution.get()
        # An actor created by an actor shares its fate (unless detached): the node needs the
        # creator's id, since many actors share one process.
        wire["owner_actor"] = running.actor_id if running is not None else None
        if self._method_groups:
            wire["method_groups"] = self._method_groups
        if self._method_events:
            wire["method_events"] = self._method_events
        if self._method_retries:
            wire["method_retry_exceptions"] = self._method_retries
        if supervision:
            wire.update(supervision)
        methods = {name: info.num_returns for name, info in self._methods.items()}
        header = [Kind.CREATE_ACTOR, actor_id, runtime.address, code_id, None, self._name,
                  fmt, data, len(buffers), deps, wire, concurrency, self._is_async, 0, methods]
        state = runtime.actor_state(actor_id, self._name)
        state.max_task_retries = options.max_task_retries
        state.max_pending_calls = options.max_pending_calls
        if options.name is not None and asyncio._get_running_loop() is None:
            # Named: ask synchronously so that a taken name fails here, as in Ray.
            header[4] = code
            described = runtime.request("create_actor", pack(header), buffers=buffers)
            if described["actor_id"] != actor_id:  # get_if_exists found one
                runtime.forget_actor(actor_id)
                return ActorHandle.from_descriptor(runtime, described)
            return ActorHandle(actor_id, self._name, self._methods, state)
        header[4] = runtime.code_for_node(code_id, code)
        runtime.send(runtime.node_address, header, buffers)
        return ActorHandle(actor_id, self._name, self._methods, state)

    def __repr__(self) -> str:
        return f"<actor class {self._name}>"

    def __reduce__(self) -> tuple[Any, ...]:
        return (ActorClass, (self._cls, self._options))


class _BoundActorClass(Generic[T]):
    def __init__(self, actor_class: ActorClass[T], options: ActorOptions) -> None:
        self._actor_class = actor_class
        self._options = options

    def remote(self, *args: Any, **kwargs: Any) -> ActorHandle[T]:
        return self._actor_class._create(args, kwargs, self._options)

    def options(self, **options: Unpack[ActorOptionsArgs]) -> _BoundActorClass[T]:
        return _BoundActorClass(self._actor_class,
                                ActorOptions.override(self._options, **options))

    def bind(self, *args: Any, **kwargs: Any) -> Any:
        """``ActorClass.bind`` with these options."""
        return self._actor_class._bind_node(self, args, kwargs)


class ActorHandle(Generic[T]):
    """A reference to a live actor: ``handle.method.remote(...)`` calls it.

    Calls from one caller run in the order they were made. If the actor dies, pending and
    later calls fail with ``ActorDiedError`` (they never hang). To a type checker it is
    ``ActorHandle[C]``; with the mypy plugin ``handle.method`` is ``ActorMethod[P, R]`` typed
    from ``C.method`` (and a name that is not a method of ``C`` is an error), without it
    ``ActorMethod[..., Any]``.
    """

    def __init__(self, actor_id: bytes, class_name: str, methods: dict[str, _MethodInfo],
                 state: ActorState) -> None:
        self._actor_id = actor_id
        self._class_name = class_name
        self._methods = methods
        self._state = state
        self._bound: dict[str, ActorMethod[..., Any]] = {}

    if TYPE_CHECKING:  # ties ActorProxy[C] (remote_types.py) to the handles of C's actors
        def _actorium_instance(self) -> T: ...

    @classmethod
    def from_descriptor(cls, runtime: Runtime, described: dict[str, Any]) -> ActorHandle[Any]:
        actor_id = described["actor_id"]
        methods = {name: _MethodInfo(name, n, None) for name, n in described["methods"].items()}
        state = runtime.actor_state(actor_id, described["class_name"])
        with runtime.actors_lock:
            state.max_task_retries = described.get("max_task_retries", 0)
            state.max_pending_calls = described.get("max_pending_calls", -1)
            if described.get("dead"):
                state.dead = ActorDiedError(f"actor {described['class_name']} is dead: "
                                            f"{described['dead']}", actor_id=actor_id.hex())
            elif state.address is None and described.get("address"):
                state.address = described["address"]
                state.incarnation = described["incarnation"]
        return cls(actor_id, described["class_name"], methods, state)

    def __getattr__(self, name: str) -> ActorMethod[..., Any]:
        if name.startswith("_"):
            raise AttributeError(name)
        bound = self._bound.get(name)
        if bound is not None:
            return bound
        info = self._methods.get(name)
        if info is None:
            raise AttributeError(f"actor {self._class_name} has no method {name!r}; its methods "
                                 f"are: {', '.join(sorted(self._methods)) or '(none)'}")
        bound = ActorMethod(self, info)
        self._bound[name] = bound
        return bound

    def __repr__(self) -> str:
        return f"Actor({self._class_name}, {self._actor_id.hex()})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ActorHandle) and other._actor_id == self._actor_id

    def __hash__(self) -> int:
        return hash(self._actor_id)

    @property
    def actor_id(self) -> str:
        return self._actor_id.hex()

    def __reduce__(self) -> tuple[Any, ...]:
        methods = {name: info.num_returns for name, info in self._methods.items()}
        state = self._state
        return (_rebuild_handle, (self._actor_id, self._class_name, methods, state.address,
                                  state.incarnation, state.max_task_retries,
                                  state.max_pending_calls))


def _rebuild_handle(actor_id: bytes, class_name: str, methods: dict[str, int],
                    address: str | None, incarnation: int,
                    max_task_retries: int = 0, max_pending_calls: int = -1) -> ActorHandle[Any]:
    runtime = context.current_runtime()
    known = actor_id in runtime.actors
    handle = ActorHandle.from_descriptor(runtime, {
        "actor_id": actor_id, "class_name": class_name, "methods": methods,
        "address": address, "incarnation": incarnation,
        "max_task_retries": max_task_retries, "max_pending_calls": max_pending_calls})
    if not known:
        runtime.subscribe_actor(actor_id)
    return handle


class ActorMethod(Generic[P, R]):
    """``handle.method``: call it with ``.remote(...)``.

    To a type checker it is ``ActorMethod[P, R]``: ``.remote()`` takes the method's
    parameters ``P`` and returns ``R`` (``ObjectRef[T]`` for a method returning ``T``)."""

    __slots__ = ("_handle", "_info", "_num_returns", "_group", "_events")

    def __init__(self, handle: ActorHandle[Any], info: _MethodInfo,
                 num_returns: int | None = None, group: str | None = None,
                 events: bool | None = None) -> None:
        self._handle = handle
        self._info = info
        self._num_returns = info.num_returns if num_returns is None else num_returns
        self._group = group   # the concurrency group of .options(), else the method's own
        self._events = events  # enable_task_events of .options(), else the method's/actor's

    if not TYPE_CHECKING:  # calling it is always an error, so type checkers say so
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            raise TypeError(f"actor method {self._handle._class_name}.{self._info.name} cannot "
                            f"be called directly; use .{self._info.name}.remote(...)")

    @overload
    def options(self: ActorMethod[P, list[ObjectRef[Any]]], *, num_returns: Literal[1],
                **options: Unpack[MethodOptionsArgs]) -> ActorMethod[P, ObjectRef[Any]]: ...
    @overload
    def options(self: ActorMethod[P, ObjectRefGenerator[T]], *,
                num_returns: Literal["streaming"] = ..., **options: Unpack[MethodOptionsArgs],
                ) -> ActorMethod[P, ObjectRefGenerator[T]]: ...
    @overload
    def options(self, *, num_returns: Literal[1] = ..., **options: Unpack[MethodOptionsArgs],
                ) -> ActorMethod[P, R]: ...
    @overload
    def options(self, *, num_returns: Literal[0], **options: Unpack[MethodOptionsArgs],
                ) -> ActorMethod[P, None]: ...
    @overload
    def options(self, *, num_returns: ManyReturns, **options: Unpack[MethodOptionsArgs],
                ) -> ActorMethod[P, list[ObjectRef[Any]]]: ...
    @overload
    def options(self, *, num_returns: Literal["streaming"], **options: Unpack[MethodOptionsArgs],
                ) -> ActorMethod[P, ObjectRefGenerator[Any]]: ...
    @overload
    def options(self, *, num_returns: Literal["dynamic"], **options: Unpack[MethodOptionsArgs],
                ) -> ActorMethod[P, ObjectRef[DynamicObjectRefGenerator]]: ...
    @overload
    def options(self, *, num_returns: int | str, **options: Unpack[MethodOptionsArgs],
                ) -> ActorMethod[P, Any]: ...
    def options(self, **options: Any) -> ActorMethod[P, Any]:
        """This method with other options for the calls made through the result:
        ``num_returns``, ``concurrency_group`` (the group the calls run in, instead of the
        method's own; a group the actor lacks is refused), ``enable_task_events`` or
        generator back-pressure."""
        parsed = MethodOptions.build(**options)
        if "retry_exceptions" in options:
            raise ValueError(
                f"option retry_exceptions of {self._handle._class_name}.{self._info.name} is "
                f"set on the method (@actorium.method(retry_exceptions=...)), not per call")
        group = self._group
        events = self._events if parsed.enable_task_events is None else \
            parsed.enable_task_events
        if parsed.concurrency_group is not None:
            group = parsed.concurrency_group
            known = self._info.groups
            if known is not None and group not in known:
                raise ValueError(
                    f"actor {self._handle._class_name} has no concurrency group {group!r}; its "
                    f"groups are: {', '.join(sorted(known))}")
        if "num_returns" not in options and "_generator_backpressure_num_objects" not in options:
            return ActorMethod(self._handle, self._info, self._num_returns, group, events)
        num_returns: int | str = parsed.num_returns
        if "num_returns" in options and self._info.function is not None:
            check_generator_returns(self._info.function, num_returns)
        if "num_returns" not in options:  # back-pressure alone: keep what the method says
            num_returns = "streaming" if self._num_returns < DYNAMIC_RETURNS else \
                self._num_returns
        return ActorMethod(self._handle, self._info, wire_num_returns(
            num_returns, parsed._generator_backpressure_num_objects), group, events)

    def bind(self, *args: Any, **kwargs: Any) -> Any:
        """A DAG node that calls this method of this actor each time its DAG executes.

        The actor is kept between executions. Arguments are checked now. A method with
        several returns gives a tuple of nodes, one per return. See ``actorium.dag``.
        """
        if self._info.check is not None:
            self._info.check.check(args, kwargs)
        from actorium.dag.class_node import bind_handle_method  # the DAG layer builds on this
        return bind_handle_method(self, self._info.name, self._num_returns, args, kwargs)

    if MYPY or not TYPE_CHECKING:  # mypy (its plugin lets refs stand for values), run time
        def remote(  # pyright: ignore[reportRedeclaration]
                self, *args: P.args, **kwargs: P.kwargs) -> R:
            """Send the call; returns its ObjectRef (a list if ``num_returns`` > 1) at once."""
            info = self._info
            handle = self._handle
            if info.check is not None:
                info.check.check(args, kwargs)
            handle._state.check_pending_limit(info.name)
            runtime = context.current_runtime()
            fmt, data, buffers, refs = runtime.dumps_call_args(
                f"{handle._class_name}.{info.name}", args, kwargs)
            deps = runtime.deps_of(refs) if refs else []
            task_id = runtime.ids.next_id()
            num_returns = self._num_returns
            returns = runtime.new_owned_refs(task_id, max(num_returns, 1))
            stream = runtime.open_stream(task_id, returns[0], stream_backpressure(num_returns)) \
                if num_returns < DYNAMIC_RETURNS else None
            runtime.call_actor(handle._state, task_id, info.name, num_returns, fmt, data, buffers,
                               deps, self._group, self._events)
            if stream is not None:
                return stream  # type: ignore[return-value]
            # R is what num_returns makes of the result (remote_types.py), unknown in here.
            if num_returns == 1 or num_returns == DYNAMIC_RETURNS:
                return returns[0]  # type: ignore[return-value]
            if num_returns == 0:
                return None  # type: ignore[return-value]
            return returns  # type: ignore[return-value]
    else:  # what pyright sees: a ref may stand for a value (remote_types.RefsForValues)
        remote: RefsForValues[P, R]
