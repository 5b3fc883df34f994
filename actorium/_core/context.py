"""Where code finds the runtime of its process, and what it is currently running.

A process has at most one runtime at a time: the driver's is created by ``init()``, a worker's
at worker start. It is held here explicitly (not created at import). The task or actor that a
piece of user code runs for is tracked in a ``ContextVar``, so it follows asyncio tasks and is
copied into the worker threads that run synchronous code.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from actorium.exceptions import RuntimeNotInitializedError

if TYPE_CHECKING:
    from actorium._core.actor import ActorHandle
    from actorium._core.runtime import Runtime

_runtime: Runtime | None = None
# How to start a runtime when a call needs one and none runs (Ray's auto-init); the facade
# (_api) installs ``init`` here, as the core must not import upwards.
_starter: Callable[[], None] | None = None

AUTO_INIT_ENV = "ACTORIUM_AUTO_INIT"        # "0" turns auto-init off (as Ray's variable below)
RAY_AUTO_INIT_ENV = "RAY_ENABLE_AUTO_CONNECT"


def current_runtime() -> Runtime:
    """The running runtime of this process; raises if ``init()`` was not called."""
    runtime = _runtime
    if runtime is None:
        raise RuntimeNotInitializedError(
            "actorium is not initialized in this process: call actorium.init() first "
            "(or it was shut down with actorium.shutdown())")
    return runtime


def maybe_runtime() -> Runtime | None:
    return _runtime


def set_starter(starter: Callable[[], None] | None) -> None:
    """Install the function that starts a runtime on first need (``init`` with defaults)."""
    global _starter
    _starter = starter


def runtime_or_start() -> Runtime:
    """The running runtime, started first as ``init()`` would if none runs (Ray's auto-init).

    For calls that begin new work (``.remote()``, ``put``, ``get_actor``, cluster queries);
    calls on refs or handles of a runtime that was shut down use ``current_runtime()`` and
    raise instead. ``ACTORIUM_AUTO_INIT=0`` (or Ray's ``RAY_ENABLE_AUTO_CONNECT=0``) turns it
    off, so such a call raises ``RuntimeNotInitializedError``. Blocks while the runtime starts.
    """
    if _runtime is None and _starter is not None and auto_init_enabled():
        _starter()
    return current_runtime()


def auto_init_enabled() -> bool:
    return "0" not in (os.environ.get(AUTO_INIT_ENV), os.environ.get(RAY_AUTO_INIT_ENV))


def set_runtime(runtime: Runtime | None) -> None:
    global _runtime
    _runtime = runtime


@dataclass(frozen=True, slots=True)
class Execution:
    """What user code is running for: a task, or a method call of an actor."""

    task_id: bytes
    actor_id: bytes | None = None
    function_name: str = ""
    restarts: int = 0                              # of the actor, when running for one
    resources: dict[str, float] | None = None      # what the task or actor reserved
    accelerator_ids: dict[str, list[str]] | None = None   # e.g. {"GPU": ["0"]}, given by the node
    # The placement group it was scheduled into, as its wire strategy: {"placement_group":
    # id, "bundle": index, "capture": bool, "bundles": [...]} (None: not in a group).
    placement: dict[str, Any] | None = None
    # False: enable_task_events=False, so the call is left out of the timeline and the
    # state API (its function's counters still count it).
    events: bool = True
    # The task's function (None for actor calls, whose class the hosted actor knows).
    function: Any = None


current_execution: ContextVar[Execution | None] = ContextVar("actorium_execution", default=None)


class RuntimeContext:
    """Facts about the calling code: which node, job, actor and task it runs in.

    Returned by ``actorium.get_runtime_context()``; ids are hex strings as in Ray.
    """

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    def get_node_id(self) -> str:
        return self._runtime.node_id.hex()

    def get_job_id(self) -> str:
        return self._runtime.job_id.hex()

    def get_worker_id(self) -> str:
        return self._runtime.worker_id.hex()

    def get_actor_id(self) -> str | None:
        execution = current_execution.get()
        if execution is None or execution.actor_id is None:
            return None
        return execution.actor_id.hex()

    def get_task_id(self) -> str | None:
        execution = current_execution.get()
        return None if execution is None else execution.task_id.hex()

    def is_canceled(self) -> bool:
        """Whether ``cancel()`` was called on the task or actor call running here.

        A running call of a sync or threaded actor is never interrupted (as in Ray): it can
        poll this to stop early; its caller gets ``TaskCancelledError`` either way. Raises
        RuntimeError outside a task or actor call, as Ray does.
        """
        execution = current_execution.get()
        if execution is None:
            raise RuntimeError("is_canceled() is only available inside a task or an actor "
                               "method call")
        from actorium._core import interrupt
        return interrupt.requested(execution.task_id)

    @property
    def namespace(self) -> str:
        return self._runtime.namespace

    def get_namespace(self) -> str:
        return self._runtime.namespace

    @property
    def node_id(self) -> str:
        return self.get_node_id()

    @property
    def job_id(self) -> str:
        return self.get_job_id()

    @property
    def actor_id(self) -> str | None:
        return self.get_actor_id()

    @property
    def task_id(self) -> str | None:
        return self.get_task_id()

    def get_actor_name(self) -> str | None:
        """The name the running actor was created with (``""`` if it has none, as in Ray);
        None outside an actor."""
        execution = current_execution.get()
        if execution is None or execution.actor_id is None:
            return None
        actor = self._hosted_actor(execution)
        return (actor.options.get("name") if actor is not None else None) or ""

    @property
    def current_actor(self) -> ActorHandle[Any]:
        """A handle to the running actor (in its methods and ``__init__``), to pass to
        others or to call itself; ``RuntimeError`` outside an actor, as in Ray."""
        execution = current_execution.get()
        actor = None if execution is None else self._hosted_actor(execution)
        if execution is None or execution.actor_id is None or actor is None:
            raise RuntimeError("current_actor is only available inside an actor (its "
                               "methods and __init__)")
        from actorium._core.actor import ActorHandle  # the layer above builds handles

        runtime = self._runtime
        known = execution.actor_id in runtime.actors
        handle = ActorHandle.from_descriptor(runtime, {
            "actor_id": execution.actor_id, "class_name": actor.class_name,
            "methods": actor.methods or _public_method_names(actor),
            "address": runtime.address, "incarnation": actor.incarnation,
            "max_task_retries": actor.options.get("max_task_retries", 0),
            "max_pending_calls": actor.options.get("max_pending_calls", -1)})
        if not known:
            runtime.subscribe_actor(execution.actor_id)  # to follow it through restarts
        return handle

    def get_task_name(self) -> str | None:
        """The running task's name (its ``name=`` option, else the function's name), or
        ``Class.method`` in an actor; None in a driver."""
        execution = current_execution.get()
        if execution is None:
            return None
        if execution.actor_id is None:
            return execution.function_name
        actor = self._hosted_actor(execution)
        class_name = actor.class_name if actor is not None else "actor"
        if execution.function_name.startswith(f"{class_name}."):   # __init__: as in Ray,
            name = actor.options.get("name") if actor is not None else None   # a named
            return f"{name}:{execution.function_name}" if name else execution.function_name
        return f"{class_name}.{execution.function_name}"

    def get_task_function_name(self) -> str | None:
        """The running code's full name, ``module.function`` or ``module.Class.method``
        (whatever ``name=`` says), as in Ray; None in a driver."""
        execution = current_execution.get()
        if execution is None:
            return None
        if execution.actor_id is None:
            function = execution.function
            if function is None:
                return execution.function_name
            return f"{function.__module__}.{function.__qualname__}"
        actor = self._hosted_actor(execution)
        cls = None if actor is None else actor.cls or (
            type(actor.instance) if actor.instance is not None else None)
        if cls is None:
            return self.get_task_name()
        method = execution.function_name.rpartition(".")[2]
        return f"{cls.__module__}.{cls.__qualname__}.{method}"

    def _hosted_actor(self, execution: Execution) -> Any:
        find = self._runtime.find_actor
        if execution.actor_id is None or find is None:
            return None
        return find(execution.actor_id)

    def get_assigned_resources(self) -> dict[str, float]:
        """What the running task or actor reserved, e.g. ``{"CPU": 1.0}`` ({} in a driver)."""
        execution = current_execution.get()
        return dict(execution.resources or {}) if execution is not None else {}

    def get_accelerator_ids(self) -> dict[str, list[str]]:
        """The ids of the accelerators the running task or actor was given, as strings:
        ``{"GPU": ["0", "1"]}`` (``{"GPU": []}`` for work without GPUs and in a driver)."""
        execution = current_execution.get()
        given = (execution.accelerator_ids or {}) if execution is not None else {}
        # Every accelerator kind Ray 2.60 names, so that code reading one finds a list.
        return {kind: list(given.get(kind, [])) for kind in ACCELERATOR_KINDS}

    @property
    def runtime_env(self) -> dict[str, Any]:
        """The runtime environment the caller runs in (as a ``RuntimeEnv``; empty if none):
        in a driver, the job's; in a task or actor, its own, inherited and merged."""
        from actorium._runtime_env.spec import RuntimeEnv

        env = self._runtime.envs.parent
        result = RuntimeEnv()
        result.update(env or {})
        return result

    def get_runtime_env_string(self) -> str:
        """The caller's runtime environment as a JSON string, as Ray's is."""
        return json.dumps(self._runtime.envs.parent or {})

    def get_placement_group_id(self) -> str | None:
        """The id (hex) of the placement group the running task or actor was scheduled
        into; None outside a group and in a driver."""
        placement = _current_placement()
        return None if placement is None else str(placement["placement_group"])

    @property
    def should_capture_child_tasks_in_placement_group(self) -> bool:
        """True in a task or actor whose group captures its children: the tasks and actors
        it creates without a scheduling strategy go into the same group (False in a
        driver, as in Ray)."""
        placement = _current_placement()
        return bool(placement is not None and placement.get("capture"))

    @property
    def was_current_actor_reconstructed(self) -> bool:
        """True inside an actor that was restarted (``max_restarts``) at least once."""
        execution = current_execution.get()
        return execution is not None and execution.restarts > 0


# The accelerator resources Ray 2.60's get_accelerator_ids() has a key for; only GPUs are
# given out here, the others are always empty.
ACCELERATOR_KINDS = ("GPU", "TPU", "NPU", "HPU", "neuron_cores", "RBLN", "FURIOSA", "MBLT",
                     "TTNPU")


def _public_method_names(actor: Any) -> dict[str, int]:
    """Methods of a hosted actor that came without a method table (one return each)."""
    cls = actor.cls or type(actor.instance)
    return {name: 1 for name in dir(cls)
            if not name.startswith("_") and callable(getattr(cls, name, None))}


def _current_placement() -> dict[str, Any] | None:
    execution = current_execution.get()
    return None if execution is None else execution.placement


def placement_of(options: dict[str, Any]) -> dict[str, Any] | None:
    """The placement group part of a task's or actor's wire options (None: not in one)."""
    strategy = options.get("strategy")
    return strategy if isinstance(strategy, dict) and strategy.get("placement_group") else None
