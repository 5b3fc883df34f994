"""Remote functions: ``@remote def f(...)`` and ``f.remote(...)``.

``.remote()`` checks the arguments against ``f``'s signature, serializes them on the calling
thread, and sends the task to the node; it returns at once with the ObjectRef(s) of the result.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, Literal, ParamSpec, TypeVar, Unpack, overload

from actorium._core import context
from actorium._core.code import ShippableCode
from actorium._core.options import (
    DYNAMIC_RETURNS,
    TaskOptions,
    stream_backpressure,
    task_options_to_wire,
    wire_num_returns,
)
from actorium._core.remote_types import MYPY
from actorium._core.signature import ArgumentCheck
from actorium._transport import serialization
from actorium._transport.protocol import Kind

if TYPE_CHECKING and not MYPY:  # the types pyright sees in the branches mypy does not
    from actorium._core.remote_types import RefsForValues
if TYPE_CHECKING:
    from actorium._core.ref import ObjectRef
    from actorium._core.remote_types import ManyReturns, TaskOverrideOptions
    from actorium._core.streams import DynamicObjectRefGenerator, ObjectRefGenerator

P = ParamSpec("P")
# What .remote() returns: ObjectRef[T], or a list of refs, None... (_core/remote_types.py).
R = TypeVar("R", covariant=True)
T = TypeVar("T")


class RemoteFunction(Generic[P, R]):
    """A function that runs as a task on a worker when called with ``.remote()``.

    To a type checker it is ``RemoteFunction[P, R]``: ``.remote()`` takes the function's
    parameters ``P`` and returns ``R``, e.g. ``ObjectRef[int]`` for a function returning int.
    """

    def __init__(self, function: Callable[P, Any], options: TaskOptions) -> None:
        self._function = function
        if options.num_returns == 1 and is_generator_function(function):
            # As in Ray: a generator streams its items unless told otherwise.
            options = dataclasses.replace(options, num_returns="streaming")
        check_generator_returns(function, options.num_returns)
        self._options = options
        self._name = getattr(function, "__qualname__", repr(function))
        self._code = ShippableCode(function)
        self._check = ArgumentCheck(function, self._name)
        functools.update_wrapper(self, function)  # type: ignore[arg-type]  # (no __call__)

    if not TYPE_CHECKING:  # calling it is always an error, so type checkers say so
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            raise TypeError(f"remote function {self._name} cannot be called directly; "
                            f"use {self._name}.remote(...) to run it as a task")

    if MYPY or not TYPE_CHECKING:  # mypy, whose plugin widens P to take refs, and run time
        def remote(  # pyright: ignore[reportRedeclaration]
                self, *args: P.args, **kwargs: P.kwargs) -> R:
            """Submit the task; returns ObjectRef (a list of them if ``num_returns`` > 1)."""
            returned: R = self._submit(args, kwargs, self._options)
            return returned
    else:  # what pyright sees: a ref may stand for a value (remote_types.RefsForValues)
        remote: RefsForValues[P, R]

    @overload
    def options(self: RemoteFunction[P, list[ObjectRef[Any]]], *, num_returns: Literal[1],
                **options: Unpack[TaskOverrideOptions]) -> _BoundFunction[P, ObjectRef[Any]]: ...
    @overload
    def options(self: RemoteFunction[P, ObjectRefGenerator[T]], *,
                num_returns: Literal["streaming"] = ..., **options: Unpack[TaskOverrideOptions],
                ) -> _BoundFunction[P, ObjectRefGenerator[T]]: ...
    @overload
    def options(self, *, num_returns: Literal[1] = ..., **options: Unpack[TaskOverrideOptions],
                ) -> _BoundFunction[P, R]: ...
    @overload
    def options(self, *, num_returns: Literal[0], **options: Unpack[TaskOverrideOptions],
                ) -> _BoundFunction[P, None]: ...
    @overload
    def options(self, *, num_returns: ManyReturns, **options: Unpack[TaskOverrideOptions],
                ) -> _BoundFunction[P, list[ObjectRef[Any]]]: ...
    @overload
    def options(self, *, num_returns: Literal["streaming"], **options: Unpack[TaskOverrideOptions],
                ) -> _BoundFunction[P, ObjectRefGenerator[Any]]: ...
    @overload
    def options(self, *, num_returns: Literal["dynamic"], **options: Unpack[TaskOverrideOptions],
                ) -> _BoundFunction[P, ObjectRef[DynamicObjectRefGenerator]]: ...
    @overload
    def options(self, *, num_returns: int | str, **options: Unpack[TaskOverrideOptions],
                ) -> _BoundFunction[P, Any]: ...
    def options(self, **options: Any) -> _BoundFunction[P, Any]:
        """The same function with options overridden for the calls made through the result
        (``f.options(...).options(...)`` overrides in turn)."""
        bound = TaskOptions.override(self._options, **options)
        check_generator_returns(self._function, bound.num_returns)
        return _BoundFunction(self, bound)

    def bind(self, *args: Any, **kwargs: Any) -> Any:
        """A DAG node that runs this function as a task each time its DAG executes.

        Runs nothing now; the arguments (values or other DAG nodes) are checked against the
        signature here, so a wrong one raises ``TypeError`` at once. See ``actorium.dag``.
        """
        self._check.check(args, kwargs)
        from actorium.dag.function_node import FunctionNode  # the DAG layer builds on this
        return FunctionNode(self, args, kwargs, self._name)

    def _submit(self, args: tuple[Any, ...], kwargs: dict[str, Any],
                options: TaskOptions) -> Any:
        runtime = context.runtime_or_start()
        self._check.check(args, kwargs)
        code_id, code = self._code.pickled()
        fmt, data, buffers, refs = runtime.dumps_call_args(self._name, args, kwargs)
        deps = runtime.deps_of(refs) if refs else []
        task_id = runtime.ids.next_id()
        num_returns = wire_num_returns(options.num_returns,
                                       options._generator_backpressure_num_objects)
        returns = runtime.new_owned_refs(task_id, max(num_returns, 1))
        stream = runtime.open_stream(task_id, returns[0], stream_backpressure(num_returns)) \
            if num_returns < DYNAMIC_RETURNS else None
        wire = task_options_to_wire(options)
        env = runtime.envs.wire_for(options.runtime_env)
        if env is not None:
            wire["runtime_env"] = env
        # The code travels with the first task of it to each worker that runs it (the lease
        # path) or to the node; ``submit_task`` drops it where it is known already.
        header = [Kind.SUBMIT_TASK, task_id, runtime.address, code_id,
                  code, options.name or self._name, fmt, data,
                  len(buffers),
                  deps, wire, num_returns, options.max_retries,
                  retry_exceptions_to_wire(options.retry_exceptions)]
        runtime.submit_task(header, buffers, deps)
        if stream is not None:
            return stream
        if num_returns == 1 or num_returns == DYNAMIC_RETURNS:
            return returns[0]
        if num_returns == 0:
            return None
        return returns

    def __repr__(self) -> str:
        return f"<remote function {self._name}>"

    def __reduce__(self) -> tuple[Any, ...]:
        # Tasks that call other remote functions capture them; ship only what defines them.
        return (RemoteFunction, (self._function, self._options))


class _BoundFunction(RemoteFunction[P, R]):
    """``f.options(...)``: ``f`` (its code, checks and name) with other options for the calls
    made through it; ``.remote``, ``.options`` and ``.bind`` are ``f``'s."""

    def __init__(self, function: RemoteFunction[P, Any], options: TaskOptions) -> None:
        # No second set-up of the function: share what f built, keep other options.
        self.__dict__.update(vars(function))
        self._options = options

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_bound, (self._function, self._options))


def _rebuild_bound(function: Callable[..., Any], options: TaskOptions) -> _BoundFunction[..., Any]:
    return _BoundFunction(RemoteFunction(function, options), options)


def retry_exceptions_to_wire(value: bool | tuple[type[BaseException], ...]) -> Any:
    """``retry_exceptions`` as it travels: a bool, or the pickled classes."""
    if isinstance(value, bool):
        return value
    return serialization.dumps(value)[1]



def is_generator_function(function: Any) -> bool:
    """True for ``def ...: yield`` and ``async def ...: yield``."""
    return inspect.isgeneratorfunction(function) or inspect.isasyncgenfunction(function)


def check_generator_returns(function: Any, num_returns: int | str) -> None:
    """Refuse ``num_returns="streaming"``/``"dynamic"`` for a function that does not
    ``yield``, when the call is set up rather than when it runs (Ray's rule and message)."""
    if num_returns in ("streaming", "dynamic") and not is_generator_function(function):
        raise ValueError(f"num_returns={num_returns!r} can only be used with generator "
                         f"functions (functions that use 'yield'); "
                         f"{getattr(function, '__qualname__', function)!r} is not one")
