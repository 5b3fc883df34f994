"""Every error actorium raises, in one tree.

    ActoriumError
    ├── TaskError                  a task or actor method raised; also an instance of the cause
    ├── ActorError
    │   ├── ActorDiedError         the actor is dead (killed, crashed, __init__ raised, worker lost)
    │   ├── ActorUnavailableError  the actor cannot be reached now (restarting); Ray's name
    │   └── ActivationError        a virtual actor could not be activated (next call retries)
    ├── PendingCallsLimitExceeded  this process has max_pending_calls unfinished calls on the actor
    ├── StateStoreError            the state store of virtual actors failed or is unreachable
    │   └── StaleActivationError   a newer activation owns the key: this one's write was refused
    ├── GetTimeoutError            get()/wait() ran out of time (also a builtin TimeoutError)
    ├── TaskCancelledError         cancel() stopped the task before it produced a value
    ├── WorkerCrashedError         the worker running a task died and no retries were left
    ├── NodeDiedError              the node a task was sent to died and no retries were left
    ├── TaskPlacementGroupRemoved  the task's placement group was removed (also a ValueError)
    ├── ObjectLostError            the value behind an ObjectRef is gone
    │   └── OwnerDiedError         ... because the process that owned it died
    ├── OutOfMemoryError           the object store or a node ran out of memory
    │   └── ObjectStoreFullError   ... the object store in particular
    ├── RuntimeNotInitializedError an API call needs init() first (or came after shutdown())
    ├── RuntimeEnvSetupError       a task's or actor's runtime_env could not be set up
    ├── BlockingCallInLoopError    a blocking call was made inside a running event loop; use await
    ├── SimulationStalledError     in actorium.testing.simulate(): nothing can ever happen again
    ├── QueueEmptyError            util.queue.Queue had no item (also the stdlib's queue.Empty)
    ├── QueueFullError             util.queue.Queue had no room (also the stdlib's queue.Full)
    └── SerializationError         a value could not be pickled (the message names it)

Every exception here crosses process boundaries, so each one pickles (``__reduce__``)
with its extra fields. Ray's names are accepted aliases: ``RayTaskError`` is ``TaskError``,
``RayActorError`` is ``ActorError``, ``RayError`` is ``ActoriumError``.
``ActorUnavailableError``, ``OwnerDiedError`` and ``ObjectStoreFullError`` exist so that
ported ``except`` clauses import; this version does not raise them yet (it raises their
parents: ``ActorDiedError``, ``ObjectLostError``...).
"""

from __future__ import annotations

import queue
from typing import Any

__all__ = [
    "ActivationError",
    "ActoriumError",
    "ActorDiedError",
    "ActorError",
    "ActorUnavailableError",
    "BlockingCallInLoopError",
    "GetTimeoutError",
    "NodeDiedError",
    "ObjectLostError",
    "ObjectStoreFullError",
    "OutOfMemoryError",
    "OwnerDiedError",
    "PendingCallsLimitExceeded",
    "QueueEmptyError",
    "QueueFullError",
    "RayActorError",
    "RayError",
    "RayTaskError",
    "RuntimeEnvSetupError",
    "RuntimeNotInitializedError",
    "SerializationError",
    "SimulationStalledError",
    "StaleActivationError",
    "StateStoreError",
    "TaskCancelledError",
    "TaskError",
    "TaskPlacementGroupRemoved",
    "WorkerCrashedError",
]


class ActoriumError(Exception):
    """Base class of every error raised by actorium itself."""


class TaskError(ActoriumError):
    """A remote task or actor method raised an exception.

    ``get()`` raises an instance that is *also* an instance of the original exception's class,
    so ``except ValueError`` keeps working around remote code. ``cause`` is the original
    exception and ``remote_traceback`` the formatted traceback from the worker.
    Handle it as you would the original exception; print it to see where it happened remotely.
    """

    def __init__(self, function_name: str, cause: BaseException, remote_traceback: str) -> None:
        # Not super(): in the dual class the next __init__ is the cause's, whose signature
        # is unknown (TwoArgumentError(code, detail) must work too).
        Exception.__init__(self, function_name, cause, remote_traceback)
        self.function_name = function_name
        self.cause = cause
        self.remote_traceback = remote_traceback

    def __str__(self) -> str:
        return (
            f"{self.function_name} raised {type(self.cause).__name__}: {self.cause}\n"
            f"Remote traceback:\n{self.remote_traceback}"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (make_task_error, (self.function_name, self.cause, self.remote_traceback))

    def as_instanceof_cause(self) -> TaskError:
        """Return an equivalent error that also derives from the cause's class."""
        return make_task_error(self.function_name, self.cause, self.remote_traceback)


_dual_classes: dict[type[BaseException], type[TaskError]] = {}


def make_task_error(function_name: str, cause: BaseException, remote_traceback: str) -> TaskError:
    """Build a TaskError that is also an instance of ``type(cause)`` when that class allows it."""
    cause_class = type(cause)
    if isinstance(cause, TaskError) or not issubclass(cause_class, Exception):
        return TaskError(function_name, cause, remote_traceback)
    dual = _dual_classes.get(cause_class)
    if dual is None:
        try:
            dual = type(
                f"TaskError({cause_class.__name__})",
                (TaskError, cause_class),
                {"__module__": __name__, "__reduce__": TaskError.__reduce__,
                 "__str__": TaskError.__str__, "__init__": TaskError.__init__},
            )
        except TypeError:  # incompatible layouts (e.g. some C extension exceptions)
            return TaskError(function_name, cause, remote_traceback)
        _dual_classes[cause_class] = dual
    error = dual.__new__(dual)
    TaskError.__init__(error, function_name, cause, remote_traceback)
    return error


class ActorError(ActoriumError):
    """Base class of errors about an actor rather than the code it runs."""


class ActorDiedError(ActorError):
    """The actor is dead, so this call will never run (or never finish).

    ``actor_id`` names the actor and ``reason`` says why it died: killed with ``kill()``,
    ``__init__`` raised (``cause`` holds that exception), its worker process exited, or its
    restarts are used up. Retry on a new actor, or create it with ``max_restarts``.
    """

    def __init__(self, message: str, *, actor_id: str | None = None,
                 cause: BaseException | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.actor_id = actor_id
        self.cause = cause

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_actor_died, (self.message, self.actor_id, self.cause))


def _rebuild_actor_died(message: str, actor_id: str | None,
                        cause: BaseException | None) -> ActorDiedError:
    return ActorDiedError(message, actor_id=actor_id, cause=cause)


class ActorUnavailableError(ActorError):
    """The actor cannot take calls right now (for example while it restarts); Ray's name.

    Not raised by this version (a call to a restarting actor waits for it); retry later.
    """


class PendingCallsLimitExceeded(ActoriumError):  # noqa: N818 - Ray's name
    """``.remote()`` on an actor method found ``max_pending_calls`` calls from this process
    to that actor unfinished; Ray's name, and as in Ray not an ``ActorError`` (the actor is
    fine). Raised at once by ``.remote()``: the call was not sent. Wait for some results
    (``get``/``wait``) before sending more, or raise the actor's ``max_pending_calls``.
    """


class GetTimeoutError(ActoriumError, TimeoutError):
    """``get()`` or ``wait()`` did not finish within ``timeout`` seconds.

    The task keeps running; call ``get()`` again later or ``cancel()`` it.
    """


class TaskCancelledError(ActoriumError):
    """The task was cancelled with ``cancel()`` before it produced a value."""

    def __init__(self, message: str = "the task was cancelled") -> None:
        super().__init__(message)


class WorkerCrashedError(ActoriumError):
    """The process running a task died (killed, crashed, out of memory) and no retry was left.

    Tasks are retried ``max_retries`` times (default 3) when this happens; raise the count
    or make the task cheaper on memory if you see it.
    """


class NodeDiedError(ActoriumError):
    """The node a task had been sent to died (or left the cluster) and no retry was left.

    As Ray's ``NodeDiedError``, a ``RayError`` (``ActoriumError``) and not a
    ``WorkerCrashedError``: catch both where either loss is survived.
    """


class TaskPlacementGroupRemoved(ActoriumError, ValueError):  # noqa: N818 - Ray's name
    """The placement group a task was scheduled into was removed, so it cannot run (or was
    stopped while it ran: its worker was ended and it is not retried, as no bundle is left
    to retry it in). Create a new group and submit the task again if it must still run.
    """


class ObjectLostError(ActoriumError):
    """The value behind this ObjectRef no longer exists (its owner died or it was freed)."""


class OutOfMemoryError(ActoriumError):
    """The object store or the node ran out of memory; the message gives the figures."""


class OwnerDiedError(ObjectLostError):
    """The value is gone because the process that owned it died; Ray's name (not raised by
    this version, which raises ``ObjectLostError``, so ``except ObjectLostError`` catches both).
    """


class ObjectStoreFullError(OutOfMemoryError):
    """The object store has no room for the value; Ray's name (not raised by this version:
    the store spills idle objects to disk instead)."""


class RuntimeNotInitializedError(ActoriumError):
    """The call needs a running runtime: call ``actorium.init()`` first."""


class RuntimeEnvSetupError(ActoriumError):
    """The ``runtime_env`` of a task or actor could not be set up on the node that was to run
    it, so it never ran: a pip/uv requirement that does not exist or does not build, a
    ``working_dir`` that could not be fetched, a setup that exceeded
    ``config.setup_timeout_seconds``. The message carries the installer's output.

    It is not retried: fix the environment and submit again (a new submission sets it up anew).
    """

    def __init__(self, message: str = "Failed to set up runtime environment.") -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[Any, ...]:
        return (RuntimeEnvSetupError, (self.message,))


class BlockingCallInLoopError(ActoriumError, RuntimeError):
    """A blocking call (such as ``get()``) was made on a thread that runs an event loop.

    Blocking there would freeze every coroutine of that loop. Use the awaitable form:
    ``await ref`` or ``await asyncio.gather(*refs)`` instead of ``get()``.
    """


class SimulationStalledError(ActoriumError, RuntimeError):
    """In ``actorium.testing.simulate()``: a blocking call waits for something that can never
    happen (every call waits, nothing is on its way, no timer is set).

    The real runtime would wait forever (a lost message, a deadlock); the simulation knows
    nothing else can run, so it says so at once.
    """


class SerializationError(ActoriumError, TypeError):
    """A value could not be serialized to cross to another process; the message names it."""


class ActivationError(ActorError):
    """A virtual actor could not be activated, so the calls waiting for it failed.

    The message names the type and key and says why (``on_activate`` or ``__init__`` raised,
    its saved state could not be read, its class could not be loaded, the store is down);
    ``cause`` holds the original exception when there is one. Nothing is left broken: the
    next call to the same key tries to activate it again.
    """

    def __init__(self, message: str, *, cause: BaseException | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.cause = cause

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[Any, ...]:
        return (ActivationError, (self.message,), {"cause": self.cause})

    def __setstate__(self, state: dict[str, Any] | None) -> None:
        self.cause = (state or {}).get("cause")


class StateStoreError(ActoriumError):
    """The state store of virtual actors (sqlite or PostgreSQL) failed or is unreachable.

    The message names the store and the operation. A save that failed this way changed
    nothing: the actor's state in the store is the one before the save.
    """


class StaleActivationError(StateStoreError):
    """A write was refused because a newer activation of the same virtual actor owns its key.

    Every activation claims its key in the state store (its *epoch*); a write carries the
    epoch and version it read, and the store refuses it once a newer activation has claimed
    the key, so an old activation that lost contact (a split brain) can never overwrite newer
    state. The refused activation deactivates itself; callers reach the new one.
    ``type_name``, ``key``, ``epoch`` name the refused activation.
    """

    def __init__(self, message: str, *, type_name: str = "", key: str = "",
                 epoch: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.type_name = type_name
        self.key = key
        self.epoch = epoch

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_stale, (self.message, self.type_name, self.key, self.epoch))


def _rebuild_stale(message: str, type_name: str, key: str, epoch: int) -> StaleActivationError:
    return StaleActivationError(message, type_name=type_name, key=key, epoch=epoch)


class QueueEmptyError(ActoriumError, queue.Empty):
    """``util.queue.Queue.get`` found no item (at once, or within its timeout).

    Ray's name for it is ``ray.util.queue.Empty``; ``except queue.Empty`` catches it too.
    Try again later, or block with a longer timeout.
    """


class QueueFullError(ActoriumError, queue.Full):
    """``util.queue.Queue.put`` found no room (at once, or within its timeout).

    Ray's name for it is ``ray.util.queue.Full``; ``except queue.Full`` catches it too.
    """


# Ray's names, so that `import actorium as ray` programs keep their except clauses.
RayError = ActoriumError
RayTaskError = TaskError
RayActorError = ActorError
