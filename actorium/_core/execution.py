"""Running one piece of user code and packing its outcome (shared by tasks and actor calls).

The steps every call goes through on a worker: wait until the refs among its arguments are
ready, rebuild the arguments (refs at the top level and inside lists, tuples and dicts become
their values), run the code, and turn the return value(s) or the exception into a TASK_RESULT.
"""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Callable
from time import perf_counter
from types import AsyncGeneratorType, GeneratorType
from typing import TYPE_CHECKING, Any

from actorium._core.actor_exit import ActorExit
from actorium._core.objects import FAILED, PENDING, ObjectEntry
from actorium._core.producer import fixed_returns, fixed_returns_async
from actorium._core.ref import ObjectRef
from actorium._core.stored import INLINE_LIMIT, payload_size
from actorium._transport import serialization
from actorium._transport.protocol import Kind, TaskStatus
from actorium.exceptions import ActoriumError, TaskCancelledError, TaskError, make_task_error

if TYPE_CHECKING:
    from actorium._core.producer import Again, AgainAsync, Producers
    from actorium._core.runtime import Runtime


class DependencyFailed(Exception):
    """An argument's ref holds an error; the call fails with that error without running."""

    def __init__(self, error_entry: ObjectEntry) -> None:
        super().__init__("dependency failed")
        self.error_entry = error_entry


def pending_deps(entries: list[tuple[bytes, ObjectEntry]]) -> list[tuple[bytes, ObjectEntry]]:
    return [(object_id, entry) for object_id, entry in entries if entry.state == PENDING]


async def wait_deps(runtime: Runtime, entries: list[tuple[bytes, ObjectEntry]]) -> None:
    """Await every pending dependency (on the runtime's loop)."""
    for object_id, entry in pending_deps(entries):
        ref: ObjectRef[Any] = ObjectRef(object_id, entry.owner, runtime.objects)
        await runtime._entry_done(ref, entry)
        del ref


def wait_deps_blocking(runtime: Runtime, entries: list[tuple[bytes, ObjectEntry]]) -> None:
    """Block a worker thread until every dependency is ready."""
    waiting = pending_deps(entries)
    if waiting:
        refs: list[ObjectRef[Any]] = [ObjectRef(object_id, entry.owner, runtime.objects)
                                      for object_id, entry in waiting]
        runtime.wait_entries(refs, [entry for _, entry in waiting], len(waiting), None)


def resolve_value(runtime: Runtime, value: Any) -> Any:
    """The value of a top-level ref argument; anything else as it is.

    As in Ray, only refs passed directly as arguments are replaced by their values: refs inside
    a list, tuple or dict stay refs, so a task given ``[ref1, ref2]`` can ``get`` them itself.
    """
    if type(value) is ObjectRef:
        entry = runtime.objects.entries[value.id]
        if entry.state == FAILED:
            raise DependencyFailed(entry)
        return runtime.value_of(entry)
    return value


def rebuild_args(runtime: Runtime, fmt: int, data: bytes, buffers: list[Any],
                 has_refs: bool) -> tuple[tuple[Any, ...], dict[str, Any]]:
    args, kwargs = serialization.loads_args(fmt, data, buffers)
    if has_refs:
        args = tuple(resolve_value(runtime, arg) for arg in args)
        kwargs = {key: resolve_value(runtime, arg) for key, arg in kwargs.items()}
    return args, kwargs


def error_result(function_name: str, exc: BaseException) -> tuple[int, list[list[Any]], list[Any]]:
    """(status, returns, deps) describing an exception raised by user code."""
    if isinstance(exc, DependencyFailed):
        entry = exc.error_entry
        return TaskStatus.ERROR, [[entry.fmt, entry.data, 0]], []
    if isinstance(exc, ActorExit):   # the actor ended itself: this call fails as it dies
        return TaskStatus.ERROR, [[serialization.PICKLE, serialization.dumps(exc.error)[1], 0]], []
    if isinstance(exc, asyncio.CancelledError):
        exc = TaskCancelledError(f"{function_name} was cancelled")
    if isinstance(exc, ActoriumError) and not isinstance(exc, TaskCancelledError):
        error: BaseException = exc
    elif isinstance(exc, TaskCancelledError):
        error = exc
    else:
        try:
            error = make_task_error(function_name, exc, traceback.format_exc())
        except Exception:  # noqa: BLE001 - never let reporting an error lose the result
            error = TaskError(function_name, exc, traceback.format_exc())
    try:
        data = serialization.dumps(error)[1]
    except Exception:  # noqa: BLE001 - the user's exception may not pickle
        fallback = TaskError(function_name, RuntimeError(f"{type(exc).__name__}: {exc}"),
                             traceback.format_exc())
        data = serialization.dumps(fallback)[1]
    return TaskStatus.ERROR, [[serialization.PICKLE, data, 0]], []


def ok_result(runtime: Runtime, value: Any, num_returns: int,
              function_name: str) -> tuple[int, list[list[Any]], list[Any], list[Any]]:
    """(status, returns, deps, buffers) for a successful call."""
    values: tuple[Any, ...]
    if num_returns == 1:
        values = (value,)
    elif num_returns == 0:
        values = ()
    else:
        try:
            values = tuple(value)
        except TypeError:
            values = ()
        if len(values) != num_returns:
            raise ValueError(f"{function_name} was declared with num_returns={num_returns} but "
                             f"returned {type(value).__name__} {value!r:.80}")
    returns = []
    buffers: list[Any] = []
    contained: list[Any] = []
    for item in values:
        fmt, data, item_buffers, refs = serialization.dumps(item)
        contained.extend(refs)
        if payload_size(data, item_buffers) > INLINE_LIMIT:
            wire = runtime.store_result(data, item_buffers)
            if wire is not None:  # in the store; named after its owner when sent
                returns.append([fmt, b"", 0, wire])
                continue
        returns.append([fmt, data, len(item_buffers)])
        buffers.extend(item_buffers)
    deps = runtime.deps_of(contained) if contained else []
    return TaskStatus.OK, returns, deps, buffers


# Told of every finished task or call: (function name, seconds, exception or None). Workers
# set it to their statistics recorder; None in drivers, which run no tasks.
on_finished: Callable[[str, float, BaseException | None], None] | None = None


def run_and_pack(runtime: Runtime, function_name: str, num_returns: int,
                 call: Callable[[], Any], *, owner: str = "", task_id: bytes = b"",
                 again: Again | None = None,
                 exiting: Callable[[SystemExit], BaseException | None] | None = None,
                 ) -> tuple[int, list[list[Any]], list[Any], list[Any]]:
    """Run synchronous ``call`` and pack its outcome (any thread).

    A negative ``num_returns`` marks a generator call: its items go to ``owner`` as they
    come (``producer.py``) and the outcome is the call's one result; ``again`` retries its
    generator when it raises (``Producers.drive``). ``exiting`` is told of a ``SystemExit``
    (a task's generator called ``sys.exit()``: its worker exits, as the task's call would).
    """
    started = perf_counter()
    try:
        value = call()
        if num_returns < 0:
            value = _producers(runtime).drive(value, num_returns, owner, task_id, function_name,
                                              again)
            num_returns = 1
        elif num_returns > 0 and isinstance(value, GeneratorType):
            outcome = fixed_returns(runtime, value, num_returns, function_name)
            _note(function_name, started, None)
            return outcome
        outcome = ok_result(runtime, value, num_returns, function_name)
    except BaseException as exc:  # noqa: BLE001 - every failure goes back to the caller
        if exiting is not None and isinstance(exc, SystemExit):
            exc = exiting(exc) or exc
        status, returns, deps = error_result(function_name, exc)
        _note(function_name, started, exc)
        return status, _repeat(returns, num_returns), deps, []
    _note(function_name, started, None)
    return outcome


async def run_and_pack_async(runtime: Runtime, function_name: str, num_returns: int,
                             call: Callable[[], Any], *, owner: str = "", task_id: bytes = b"",
                             again: AgainAsync | None = None,
                             exiting: Callable[[SystemExit], BaseException | None] | None = None,
                             ) -> tuple[int, list[list[Any]], list[Any], list[Any]]:
    """Await ``call()`` (a coroutine) and pack its outcome (loop thread)."""
    started = perf_counter()
    try:
        value = await call()
        if num_returns < 0:
            value = await _producers(runtime).drive_async(value, num_returns, owner, task_id,
                                                          function_name, again)
            num_returns = 1
        elif num_returns > 0 and isinstance(value, (GeneratorType, AsyncGeneratorType)):
            if isinstance(value, GeneratorType):
                outcome = fixed_returns(runtime, value, num_returns, function_name)
            else:
                outcome = await fixed_returns_async(runtime, value, num_returns, function_name)
            _note(function_name, started, None)
            return outcome
        outcome = ok_result(runtime, value, num_returns, function_name)
    except BaseException as exc:  # noqa: BLE001
        if exiting is not None and isinstance(exc, SystemExit):
            exc = exiting(exc) or exc
        status, returns, deps = error_result(function_name, exc)
        _note(function_name, started, exc)
        return status, _repeat(returns, num_returns), deps, []
    _note(function_name, started, None)
    return outcome


def _producers(runtime: Runtime) -> Producers:
    producers = runtime.producers
    if producers is None:  # only workers run calls; a driver never gets here
        raise RuntimeError("generator calls run in workers only")
    return producers


def _note(function_name: str, started: float, error: BaseException | None) -> None:
    hook = on_finished
    if hook is not None:
        hook(function_name, perf_counter() - started, error)


def _repeat(returns: list[list[Any]], num_returns: int) -> list[list[Any]]:
    return returns * max(num_returns, 1)


def send_result(runtime: Runtime, owner: str, task_id: bytes,
                outcome: tuple[int, list[list[Any]], list[Any], list[Any]]) -> None:
    status, returns, deps, buffers = outcome
    if status == TaskStatus.OK:
        buffers = runtime.name_results(owner, task_id, returns, buffers)
    runtime.send(owner, [Kind.TASK_RESULT, task_id, status, returns, deps], buffers)
