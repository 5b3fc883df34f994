"""The public functions of actorium (Ray Core's names and semantics).

Blocking functions (``get``, ``wait``, ``get_actor``...) must not be called on a thread that
runs an event loop: they raise ``BlockingCallInLoopError`` there; await the refs instead.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Callable,
    Coroutine,
    Generator,
    Iterator,
    Sequence,
)
from typing import TYPE_CHECKING, Any, Literal, NoReturn, ParamSpec, TypeVar, Unpack, overload

from actorium import _ray_init_options as ray_init_options
from actorium._cluster.connect import connect, disconnect
from actorium._core import context
from actorium._core.accelerators import as_gpu_ids
from actorium._core.actor import ActorClass, ActorHandle, method
from actorium._core.actor_exit import ActorExit
from actorium._core.context import RuntimeContext
from actorium._core.ids import random_id
from actorium._core.options import ActorOptions, TaskOptions
from actorium._core.ref import ObjectRef
from actorium._core.remote_function import RemoteFunction
from actorium._core.remote_types import (
    ActorDecorator,
    ActorOptionsArgs,
    CommonOptions,
    FunctionDecorator,
    ManyReturns,
    RemoteDecorator,
    ShapedDecorator,
    StreamingDecorator,
    TaskOptionsArgs,
)
from actorium._core.runtime import Runtime
from actorium._core.streams import ObjectRefGenerator, wait_mixed
from actorium._core.values import check_not_in_loop
from actorium._jobs import ADDRESS_ENV
from actorium._node.launcher import DashboardOptions, EmbeddedNode
from actorium._observe.driver_logs import print_log_lines
from actorium._observe.worker_stats import report_driver_objects
from actorium._runtime_env.manager import ENV_VARIABLE
from actorium._runtime_env.spec import RuntimeEnv
from actorium._runtime_env.spec import merge as merge_runtime_env
from actorium._runtime_env.spec import parse as parse_runtime_env
from actorium._store.store import create_store
from actorium._transport.protocol import Kind
from actorium.exceptions import ActoriumError

if TYPE_CHECKING:
    from actorium._core.remote_types import TypedActorClass
    from actorium._core.streams import DynamicObjectRefGenerator

T = TypeVar("T")
P = ParamSpec("P")
RefT = TypeVar("RefT", bound=ObjectRef[Any] | ObjectRefGenerator[Any])

__all__ = [
    "available_resources", "cancel", "checkpoint", "cluster_resources", "exit_actor", "get",
    "get_actor", "get_gpu_ids",
    "get_runtime_context", "init", "is_initialized", "kill", "list_named_actors", "method",
    "nodes", "put", "remote",
    "shutdown", "wait",
]

RAY_ADDRESS_ENV = "RAY_ADDRESS"       # honoured after ACTORIUM_ADDRESS, for ported set-ups

_lock = threading.Lock()
_shutting_down = threading.Event()   # shutdown() runs: SIGTERM waits for it (_sigterm_exit)
_auto_init_lock = threading.Lock()   # one thread starts the runtime, the others wait for it
_embedded: EmbeddedNode | None = None
_connected: dict[str, Any] | None = None   # set while connected to a cluster


class RuntimeInfo(dict[str, Any]):
    """What ``init()`` returns: a dict of addresses, like Ray's ``address_info``."""

    @property
    def address_info(self) -> dict[str, Any]:
        return dict(self)

    @property
    def dashboard_url(self) -> str:
        return str(self.get("webui_url", ""))

    def __enter__(self) -> RuntimeInfo:
        return self

    def __exit__(self, *_exc: object) -> None:
        shutdown()


def init(address: str | None = None, *, num_cpus: int | None = None,
         num_gpus: int | None = None, resources: dict[str, float] | None = None,
         namespace: str | None = None,
         ignore_reinit_error: bool = False, object_store_memory: int | None = None,
         include_dashboard: bool | None = None, dashboard_host: str = "127.0.0.1",
         dashboard_port: int | None = None, log_to_driver: bool = True,
         runtime_env: dict[str, Any] | RuntimeEnv | None = None,
         **ray_options: Any) -> RuntimeInfo:
    """Start an embedded local runtime (a node daemon and its workers) and connect to it, or
    with ``address`` ("auto", or "HOST:PORT" with the token in ``ACTORIUM_CLUSTER_TOKEN``)
    connect to a cluster started with ``actorium start`` (ConnectionError if unreachable).

    Blocks until the node is up (a fraction of a second); worker processes keep starting in
    the background. ``num_cpus`` defaults to the machine's cores, ``num_gpus`` to the GPUs
    ``nvidia-smi`` lists (see ``get_gpu_ids``). ``object_store_memory``
    bounds the shared-memory object store in bytes (default: 30% of the machine's memory);
    beyond it, idle objects spill to disk. Calling ``init()`` twice raises unless
    ``ignore_reinit_error=True``.

    The dashboard is served on ``dashboard_host:dashboard_port`` (127.0.0.1:8265, or the next
    free port) unless ``include_dashboard=False`` or aiohttp is not installed; its URL is the
    result's ``dashboard_url`` and the token its actions need is ``dashboard_token``.
    With ``log_to_driver`` (the default), what workers print appears here, prefixed with
    the actor or task that printed it.

    ``runtime_env`` is the job's runtime environment: every task and actor of this driver
    (and their children) runs in it unless they ask for another (see ``docs/jobs.md``).
    A local ``working_dir`` / ``py_modules`` is uploaded here, once, before init returns.
    Inside a job submitted with ``actorium job submit``, ``address`` defaults to the
    cluster that runs the job (``ACTORIUM_ADDRESS``) and the job's environment is merged
    with this one (a field set by both raises ``ValueError``, unless
    ``ACTORIUM_OVERRIDE_JOB_RUNTIME_ENV=1``: then this one wins).
    """
    global _embedded
    memory = ray_options.pop("_memory", None)
    ray_init_options.check_and_apply(ray_options)  # before anything starts
    if memory is not None and (isinstance(memory, bool) or not isinstance(memory, (int, float))
                               or memory < 0):
        raise ValueError(f"_memory must be a number of bytes >= 0 (the node's memory resource), "
                         f"got {memory!r}")
    requested_env = parse_runtime_env(runtime_env)   # checked before anything starts
    if address in (None, "auto"):
        # As Ray's RAY_ADDRESS: the variable names the cluster when the caller did not.
        address = os.environ.get(ADDRESS_ENV) or os.environ.get(RAY_ADDRESS_ENV) or address
    if address is not None and not isinstance(address, str):
        raise TypeError(f"init(address=...) takes 'auto' or 'HOST:PORT', got {address!r}")
    if memory is not None and address not in (None, "local"):
        raise ValueError("init(_memory=...) sizes the node init() starts; the nodes of a "
                         "cluster it connects to have their own (as in Ray)")
    if num_cpus is not None and (isinstance(num_cpus, bool) or not isinstance(num_cpus, int)
                                 or num_cpus < 1):
        raise ValueError(f"num_cpus must be a positive int, got {num_cpus!r}")
    if num_gpus is not None and (isinstance(num_gpus, bool) or not isinstance(num_gpus, int)
                                 or num_gpus < 0):
        raise ValueError(f"num_gpus must be an int >= 0 (GPUs of this node), got {num_gpus!r}")
    TaskOptions.build(resources=resources or {})  # validates names and amounts
    if object_store_memory is not None and (isinstance(object_store_memory, bool) or
                                            not isinstance(object_store_memory, int) or
                                            object_store_memory < 1):
        raise ValueError(f"object_store_memory must be a positive number of bytes, got "
                         f"{object_store_memory!r}")
    with _lock:
        runtime = context.maybe_runtime()
        if runtime is not None:
            if ignore_reinit_error:
                return _info(runtime)
            raise RuntimeError("actorium is already running in this process (started by "
                               "init(), or automatically by the first call that needed it); "
                               "call actorium.shutdown() first, or pass "
                               "ignore_reinit_error=True")
        namespace = namespace or "default"
        if address not in (None, "local"):
            global _connected
            runtime, _connected = connect(address, namespace)
            try:
                _set_job_runtime_env(runtime, requested_env)
            except BaseException:
                disconnect(runtime)
                _connected = None
                raise
            if log_to_driver:
                _forward_worker_output(runtime)
            assert runtime.loop is not None
            runtime.loop.call_soon_threadsafe(report_driver_objects, runtime)
            context.set_runtime(runtime)
            atexit.register(shutdown)
            _exit_on_sigterm()
            return _info(runtime)
        cpus = num_cpus or os.cpu_count() or 1
        dashboard = _dashboard_options(include_dashboard, dashboard_host, dashboard_port)
        node_resources = dict(resources or {})
        if num_gpus is not None:
            node_resources["GPU"] = float(num_gpus)   # else the node counts them (nvidia-smi)
        if memory is not None:   # else the node sizes it (_node/node.py, as Ray does)
            node_resources["memory"] = float(int(memory))
        node = EmbeddedNode(num_cpus=cpus, resources=node_resources, namespace=namespace,
                            dashboard=dashboard)
        if node.dashboard_error:
            _dashboard_failed(node, include_dashboard)
        runtime = None
        try:
            create_store(node.session_dir, object_store_memory)
            runtime = Runtime(role="driver", worker_id=random_id(16),
                              session_dir=node.session_dir, node_address=node.address,
                              node_id=node.node_id, namespace=namespace, token=node.token)
            runtime.start_loop_thread()
            registered = runtime.request("register_driver", runtime.address, caller="init")
            _set_job_runtime_env(runtime, requested_env)
            if log_to_driver:
                _forward_worker_output(runtime)
            assert runtime.loop is not None
            runtime.loop.call_soon_threadsafe(report_driver_objects, runtime)
        except BaseException:
            if runtime is not None:
                runtime.close()
            node.stop()
            raise
        runtime.job_id = registered["job_id"]
        _embedded = node
        context.set_runtime(runtime)
        atexit.register(shutdown)
        _exit_on_sigterm()
        return _info(runtime)


def _exit_on_sigterm() -> None:
    """As Ray's ``init()``: from now on SIGTERM ends this process through ``sys.exit(15)``,
    so that ``shutdown()`` runs at exit (the session directory and the shared memory of the
    driver's objects are removed, its actors reaped at once) instead of the process vanishing
    with them (a stopped job's driver gets SIGTERM). Only over the default disposition, and
    only from the main thread (where Python runs signal handlers): a handler the program
    installed itself is kept. A SIGTERM that comes while ``shutdown()`` runs is ignored (a
    job's stop signals its whole process group, the shell and the driver): the shutdown
    under way ends the process. ``shutdown()`` puts the default back."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _sigterm_exit)


def _sigterm_exit(signum: int, _frame: object) -> None:
    if _shutting_down.is_set():
        return   # a second SIGTERM (a process group's) must not cut the shutdown short
    sys.exit(signum)


@contextlib.contextmanager
def _marked(event: threading.Event) -> Iterator[None]:
    event.set()
    try:
        yield
    finally:
        event.clear()


def _restore_sigterm() -> None:
    if threading.current_thread() is threading.main_thread() and \
            signal.getsignal(signal.SIGTERM) is _sigterm_exit:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _auto_init() -> None:
    """Start the runtime as ``init()`` with no arguments would (Ray's auto-init): run by
    the first call that needs a runtime when none runs (``context.runtime_or_start``)."""
    with _auto_init_lock:
        if context.maybe_runtime() is None:
            init()   # also inside a running loop: it then blocks it once, briefly, as Ray


context.set_starter(_auto_init)


def _set_job_runtime_env(runtime: Runtime, requested: RuntimeEnv | None) -> None:
    """The environment this driver's tasks inherit: the submitted job's (if this driver runs
    as one) merged with ``init(runtime_env=...)``; set up eagerly on the node."""
    job = os.environ.get(ENV_VARIABLE)
    job_env = json.loads(job)["env"] if job else None
    if job_env and requested:
        clash = sorted((set(job_env) & set(requested)) - {"env_vars", "config"}) + sorted(
            set(job_env.get("env_vars", {})) & set(requested.get("env_vars", {})))
        if clash and os.environ.get("ACTORIUM_OVERRIDE_JOB_RUNTIME_ENV") != "1":
            raise ValueError(f"init(runtime_env=...) sets {', '.join(clash)}, which the job's "
                             f"runtime_env sets too; set ACTORIUM_OVERRIDE_JOB_RUNTIME_ENV=1 "
                             f"to let init()'s values win")
    merged = merge_runtime_env(job_env, dict(requested) if requested else None)
    runtime.envs.set_parent(merged)
    wire = runtime.envs.parent_wire
    if wire is not None and (wire["env"].get("config") or {}).get("eager_install", True):
        runtime.notify_node("prepare_runtime_env", wire)


def _forward_worker_output(runtime: Runtime) -> None:
    """Print here what the node's workers print (``log_to_driver``)."""
    runtime.register_handler(Kind.LOG_LINES, print_log_lines)
    runtime.request("subscribe_logs", runtime.address, caller="init")


def _dashboard_options(include: bool | None, host: str,
                       port: int | None) -> DashboardOptions | None:
    if include is False:
        return None
    if importlib.util.find_spec("aiohttp") is None:
        if include:
            raise ValueError("include_dashboard=True needs aiohttp, a dependency of "
                             "actorium that is missing here: pip install aiohttp")
        return None
    if port is not None and (isinstance(port, bool) or not isinstance(port, int)
                             or not 0 < port < 65536):
        raise ValueError(f"dashboard_port must be a TCP port number, got {port!r}")
    return DashboardOptions(host=host, port=port)


def _dashboard_failed(node: EmbeddedNode, include: bool | None) -> None:
    """The node runs but its dashboard could not start (its socket is closed, no URL is
    given out). Asked for with include_dashboard=True, that fails init() as in Ray;
    otherwise the runtime goes on without it and the reason is logged."""
    why = f"the dashboard could not start: {node.dashboard_error}"
    if include:
        node.stop()
        raise ActoriumError(f"init(include_dashboard=True): {why}; pass "
                            f"include_dashboard=False to run without it")
    logging.getLogger("actorium").warning("%s; running without it", why)


def _info(runtime: Runtime) -> RuntimeInfo:
    node = _embedded
    return RuntimeInfo(node_id=runtime.node_id.hex(), session_dir=runtime.session_dir,
                       address=runtime.node_address, namespace=runtime.namespace,
                       webui_url=node.dashboard_url if node is not None else "",
                       dashboard_token=runtime.token)


def is_initialized() -> bool:
    """True between ``init()`` and ``shutdown()``."""
    return context.maybe_runtime() is not None


def shutdown() -> None:
    """Stop every worker and the node, and disconnect. Safe to call twice or without init().

    Pending gets and awaits fail with ``RuntimeNotInitializedError``.
    """
    global _embedded, _connected
    with _lock, _marked(_shutting_down):
        runtime = context.maybe_runtime()
        node, _embedded = _embedded, None
        connected, _connected = _connected, None
        context.set_runtime(None)
        if runtime is not None and connected is not None:
            disconnect(runtime)   # the cluster keeps running
        elif runtime is not None:
            try:
                runtime.send(runtime.node_address, [Kind.SHUTDOWN])
            finally:
                runtime.close()
        if node is not None:
            node.stop()
        atexit.unregister(shutdown)
        _restore_sigterm()


# ---------------------------------------------------------------------- remote
# The overloads are what type checkers see (docs/typing.md, _core/remote_types.py): a class
# gives ActorClass[C], a function RemoteFunction[P, R] with R what .remote() returns (a
# generator streams), options (typed: a misspelled one is an error) a decorator of those.
@overload
def remote(  # type: ignore[overload-overlap]
        function_or_class: type[T], /,
) -> TypedActorClass[T, type[T]]: ...
@overload
def remote(function_or_class: Callable[P, Coroutine[Any, Any, T]], /,
           ) -> RemoteFunction[P, ObjectRef[T]]: ...
@overload
def remote(  # type: ignore[overload-overlap]
        function_or_class: Callable[P, Generator[T, Any, Any]], /,
) -> RemoteFunction[P, ObjectRefGenerator[T]]: ...
@overload
def remote(  # type: ignore[overload-overlap]
        function_or_class: Callable[P, AsyncGenerator[T, Any]], /,
) -> RemoteFunction[P, ObjectRefGenerator[T]]: ...
@overload
def remote(function_or_class: Callable[P, Iterator[Any] | AsyncIterator[Any]], /,
           ) -> RemoteFunction[P, Any]: ...
@overload
def remote(function_or_class: Callable[P, T], /) -> RemoteFunction[P, ObjectRef[T]]: ...
@overload
def remote(**options: Unpack[CommonOptions]) -> RemoteDecorator: ...
@overload
def remote(*, num_returns: Literal[1] = ..., **options: Unpack[TaskOptionsArgs],
           ) -> FunctionDecorator: ...
@overload
def remote(**options: Unpack[ActorOptionsArgs]) -> ActorDecorator: ...
@overload
def remote(*, num_returns: Literal[0], **options: Unpack[TaskOptionsArgs],
           ) -> ShapedDecorator[None]: ...
@overload
def remote(*, num_returns: ManyReturns, **options: Unpack[TaskOptionsArgs],
           ) -> ShapedDecorator[list[ObjectRef[Any]]]: ...
@overload
def remote(*, num_returns: Literal["streaming"], **options: Unpack[TaskOptionsArgs],
           ) -> StreamingDecorator: ...
@overload
def remote(*, num_returns: Literal["dynamic"], **options: Unpack[TaskOptionsArgs],
           ) -> ShapedDecorator[ObjectRef[DynamicObjectRefGenerator]]: ...
@overload
def remote(*, num_returns: int | str, **options: Unpack[TaskOptionsArgs],
           ) -> ShapedDecorator[Any]: ...


def remote(function_or_class: Any = None, **options: Any) -> Any:
    """Make a function a task (``RemoteFunction``) or a class an actor (``ActorClass``).

    Use bare (``@remote``) or with options (``@remote(num_cpus=2, max_restarts=3)``).
    """
    if function_or_class is not None and options:
        raise TypeError("use either @remote or @remote(option=...), not both")
    if function_or_class is None:
        return lambda target: _make_remote(target, options)
    return _make_remote(function_or_class, {})


def _make_remote(target: Any, options: dict[str, Any]) -> Any:
    if isinstance(target, type):
        return ActorClass(target, ActorOptions.build(**options))
    if callable(target):
        return RemoteFunction(target, TaskOptions.build(**options))
    raise TypeError(f"@remote applies to a function or a class, not {type(target).__name__}")


# ---------------------------------------------------------------------- objects
@overload
def get(object_refs: ObjectRef[T], *, timeout: float | None = None) -> T: ...
@overload
def get(object_refs: list[ObjectRef[T]] | tuple[ObjectRef[T], ...], *,
        timeout: float | None = None) -> list[T]: ...


def get(object_refs: Any, *, timeout: float | None = None) -> Any:
    """Block until the value(s) are ready and return them (a list for a list of refs).

    Raises the task's error (a ``TaskError`` that is also the original exception's class),
    ``ActorDiedError``, or ``GetTimeoutError`` after ``timeout`` seconds. Inside async code use
    ``await ref`` instead: blocking there raises ``BlockingCallInLoopError``.
    """
    runtime = context.current_runtime()
    if timeout is not None and timeout < 0:
        raise ValueError(f"timeout must be >= 0 or None, got {timeout!r}")
    if isinstance(object_refs, ObjectRef):
        return runtime.get([object_refs], timeout)[0]
    if isinstance(object_refs, (list, tuple)):
        return runtime.get(list(object_refs), timeout)
    raise TypeError(f"get() takes an ObjectRef or a list of ObjectRefs, got "
                    f"{type(object_refs).__name__}")


def put(value: T) -> ObjectRef[T]:
    """Store ``value`` once and return a ref to pass to any number of tasks and actors."""
    if isinstance(value, ObjectRef):
        raise TypeError("put() of an ObjectRef is not allowed: pass the ref itself")
    return context.runtime_or_start().put(value)


def wait(object_refs: Sequence[RefT], *, num_returns: int = 1, timeout: float | None = None,
         fetch_local: bool = True) -> tuple[list[RefT], list[RefT]]:
    """Block until ``num_returns`` refs are ready or ``timeout`` passes.

    Returns ``(ready, not_ready)``, each in the order of ``object_refs``; ``ready`` holds at
    most ``num_returns`` refs.
    """
    runtime = context.current_runtime()
    if isinstance(object_refs, (ObjectRef, ObjectRefGenerator)) or \
            not isinstance(object_refs, (list, tuple)):
        raise TypeError(f"wait() takes a list of ObjectRefs, got {type(object_refs).__name__}")
    refs = list(object_refs)
    for ref in refs:
        if not isinstance(ref, (ObjectRef, ObjectRefGenerator)):
            raise TypeError(f"wait() takes a list of ObjectRefs, found {type(ref).__name__}")
    if len({id(ref) if isinstance(ref, ObjectRefGenerator) else ref.id
            for ref in refs}) != len(refs):
        raise ValueError("wait() was given the same ObjectRef more than once")
    if not 0 <= num_returns <= len(refs) or isinstance(num_returns, bool):
        raise ValueError(f"num_returns must be between 0 and {len(refs)} (the number of refs), "
                         f"got {num_returns!r}")
    check_not_in_loop("actorium.wait()")
    if any(isinstance(ref, ObjectRefGenerator) for ref in refs):
        # A generator is ready when its next item is (or its end is known), as in Ray.
        flags = wait_mixed(runtime, refs, num_returns, timeout)
        ready_mixed = [ref for ref, flag in zip(refs, flags, strict=True) if flag][:num_returns]
        chosen = {id(ref) for ref in ready_mixed}
        return ready_mixed, [ref for ref in refs if id(ref) not in chosen]
    entries = [runtime._entry_of(ref) for ref in refs]
    runtime.wait_entries(refs, entries, num_returns, timeout, raise_on_timeout=False)
    ready: list[RefT] = []
    not_ready: list[RefT] = []
    from actorium._core.objects import PENDING
    for ref, entry in zip(refs, entries, strict=True):
        if entry.state != PENDING and len(ready) < num_returns:
            ready.append(ref)
        else:
            not_ready.append(ref)
    return ready, not_ready


# ---------------------------------------------------------------------- actors and tasks
def kill(actor: ActorHandle[Any], *, no_restart: bool = True) -> None:
    """Kill an actor now: running and pending calls fail with ``ActorDiedError``.

    With ``no_restart=False`` an actor that has restarts left comes back. Does not block.
    """
    if not isinstance(actor, ActorHandle):
        raise TypeError(f"kill() takes an actor handle, got {type(actor).__name__}")
    runtime = context.current_runtime()
    actor_id = runtime.prepare_kill(actor._state, no_restart)
    runtime.notify_node("kill_actor", actor_id, no_restart)


def cancel(object_ref: ObjectRef[Any] | ObjectRefGenerator[Any], *, force: bool = False,
           recursive: bool = True) -> None:
    """Cancel the task or actor call that produces ``object_ref``. Does not block.

    A queued call never runs; a running async call is cancelled through asyncio; a running
    sync task gets ``TaskCancelledError`` raised inside it (``force=True`` ends its worker).
    ``get()`` on the ref then raises ``TaskCancelledError``.
    """
    if isinstance(object_ref, ObjectRefGenerator):
        # Stops the producer; the items already made stay readable, then the cancellation.
        context.current_runtime().cancel(object_ref._state.task_id, force)
        return
    if not isinstance(object_ref, ObjectRef):
        raise TypeError(f"cancel() takes an ObjectRef or an ObjectRefGenerator, got "
                        f"{type(object_ref).__name__}")
    context.current_runtime().cancel(object_ref.id[:16], force)


def exit_actor() -> NoReturn:
    """Inside an actor method: end this actor now (a *normal* exit), as Ray's ``exit_actor``.

    Raises (a ``SystemExit``, so ``except Exception`` does not catch it and ``finally`` blocks
    run): the rest of the method does not run, and this call fails with ``ActorDiedError``,
    like every call after it. Calls already running on other threads or coroutines of the
    actor finish. The actor is not restarted, whatever ``max_restarts`` says, unless it is a
    ``permanent`` child of a ``Supervisor``. ``TypeError`` outside an actor's method.
    """
    running = context.current_execution.get()
    if running is None or running.actor_id is None:
        raise TypeError("exit_actor() can only be called inside an actor's method")
    runtime = context.current_runtime()
    actor = runtime.find_actor(running.actor_id) if runtime.find_actor is not None else None
    label = actor.label if actor is not None else running.actor_id.hex()
    raise ActorExit(label, running.actor_id, "it exited with actorium.exit_actor()", normal=True)


def checkpoint() -> None:
    """Inside an actor method: save the actor's state when this call returns.

    The actor must define ``__actorium_checkpoint__`` (and ``__actorium_restore__`` to get the
    state back after a restart). The save happens before the call's result is sent, so once
    the caller has the result, the checkpoint is stored. Does not block.
    """
    running = context.current_execution.get()
    if running is None or running.actor_id is None:
        raise TypeError("checkpoint() can only be called inside an actor's method")
    runtime = context.current_runtime()
    actor = runtime.find_actor(running.actor_id) if runtime.find_actor is not None else None
    if actor is None or actor.checkpointer is None:
        raise TypeError("checkpoint() needs the actor class to define __actorium_checkpoint__ "
                        "(returning its state) and __actorium_restore__ (taking it back)")
    actor.checkpointer.requested = True


def get_actor(name: str, namespace: str | None = None) -> ActorHandle[Any]:
    """The handle of the live actor called ``name``; raises ValueError if there is none."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"get_actor() needs a non-empty name, got {name!r}")
    runtime = context.runtime_or_start()
    described = runtime.request("get_actor", name, namespace or runtime.namespace)
    return ActorHandle.from_descriptor(runtime, described)


def list_named_actors(all_namespaces: bool = False) -> list[str] | list[dict[str, str]]:
    """The names of the live named actors of this namespace, as Ray's; with
    ``all_namespaces=True``, one ``{"name", "namespace"}`` dict per live named actor.
    **Blocks** briefly (one request to the node)."""
    check_not_in_loop("actorium.list_named_actors()")
    runtime = context.runtime_or_start()
    rows = runtime.request("state", "actors", {}, 1_000_000)
    named = [row for row in rows if row.get("name") and row.get("state") != "DEAD"]
    if all_namespaces:
        return [{"name": row["name"], "namespace": row["namespace"]} for row in named]
    return [row["name"] for row in named if row["namespace"] == runtime.namespace]


# ---------------------------------------------------------------------- cluster facts
def available_resources() -> dict[str, float]:
    """Resources free right now on the cluster (e.g. ``{"CPU": 1.0}``)."""
    return context.runtime_or_start().request("available_resources")  # type: ignore[no-any-return]


def cluster_resources() -> dict[str, float]:
    """Total resources of the cluster."""
    return context.runtime_or_start().request("cluster_resources")  # type: ignore[no-any-return]


def nodes() -> list[dict[str, Any]]:
    """One dict per node: ``NodeID``, ``Alive``, ``Resources``..."""
    return context.runtime_or_start().request("nodes")  # type: ignore[no-any-return]


def get_gpu_ids() -> list[int] | list[str]:
    """The GPUs the calling task or actor was given (``[]`` in a driver and in work that
    reserved none): ints, or the strings of the node's ``CUDA_VISIBLE_DEVICES`` if those are
    not numbers. ``CUDA_VISIBLE_DEVICES`` is set to them while the work runs."""
    return as_gpu_ids(get_runtime_context().get_accelerator_ids()["GPU"])


def get_runtime_context() -> RuntimeContext:
    """Ids of the node, job, actor and task the caller runs in."""
    return RuntimeContext(context.runtime_or_start())



# ---------------------------------------------------------------------- timeline
def timeline(filename: str | None = None) -> list[dict[str, Any]] | None:
    """What ran where, in Chrome's trace event format, as Ray's ``ray.timeline()``.

    One complete event per task and actor call that the cluster's nodes remember (the last
    5,000 per node), on the row of the worker that ran it, plus instant marks for nodes and
    workers starting and dying. Workers report their calls about once a second, so a call
    that ended a moment ago may not be there yet. Returns the list of events, or, given
    ``filename``, writes them there as JSON (open it in ``chrome://tracing`` or Perfetto) and
    returns None. Blocks: call it from a script, not from a running event loop.
    """
    check_not_in_loop("actorium.timeline()")
    if filename is not None and not isinstance(filename, (str, os.PathLike)):
        raise TypeError(f"timeline(filename=...) takes a path, not {type(filename).__name__}")
    runtime = context.current_runtime()
    events: list[dict[str, Any]] = runtime.request("state", "timeline", {}, 10_000_000)
    if filename is None:
        return events
    with open(filename, "w", encoding="utf-8") as out:
        json.dump(events, out)
    return None
