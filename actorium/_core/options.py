"""Options of remote functions, actor classes and calls: frozen, validated in one place.

``@remote(...)`` and ``.options(...)`` both end up in ``TaskOptions.build`` or
``ActorOptions.build``, which reject unknown names and bad values with an error that names the
option, so a typo fails where it was written, not inside a worker.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from actorium._core.accelerators import check_gpu_request
from actorium._core.context import current_execution
from actorium._runtime_env.spec import RuntimeEnv
from actorium._runtime_env.spec import parse as parse_runtime_env

_SCHEDULING_STRATEGIES = ("DEFAULT", "SPREAD")


def _check_non_negative_number(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"option {name} must be a number >= 0, got {value!r}")


def _check_retry_count(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < -1:
        raise ValueError(f"option {name} must be an int >= -1 (-1 means unlimited), got {value!r}")


def _check_resources(resources: Any) -> None:
    if not isinstance(resources, dict):
        raise ValueError(f"option resources must be a dict of name -> amount, got {resources!r}")
    for key, amount in resources.items():
        if not isinstance(key, str):
            raise ValueError(f"resource names must be strings, got {key!r}")
        if key in ("CPU", "GPU"):
            raise ValueError(f"use num_cpus/num_gpus instead of resources[{key!r}]")
        if key in ("memory", "object_store_memory"):
            raise ValueError(f"resources must not name {key!r} (as in Ray): use the "
                             f"{key}= option instead")
        _check_non_negative_number(f"resources[{key!r}]", amount)


def _check_num_returns(value: Any) -> None:
    if value in ("streaming", "dynamic"):
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"option num_returns must be an int >= 0, \"streaming\" or "
                         f"\"dynamic\", got {value!r}")


def _check_backpressure(value: Any) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                              or value == 0 or value < -1):
        raise ValueError("option _generator_backpressure_num_objects must be an int > 0 (items "
                         f"a generator may run ahead of its consumer) or -1 (no limit), "
                         f"got {value!r}")


# --- generators on the wire ------------------------------------------------------------
# A call's num_returns travels as an int. Generators use negative numbers, so that every
# path that only counts result refs (max(num_returns, 1)) sees one: the end-of-stream ref.
#   -1            num_returns="dynamic": one ref to a DynamicObjectRefGenerator
#   -2            num_returns="streaming" without back-pressure
#   -2 - n        num_returns="streaming", the producer pauses n items ahead of its consumer
DYNAMIC_RETURNS = -1
DEFAULT_BACKPRESSURE = 128


def wire_num_returns(num_returns: int | str, backpressure: int | None) -> int:
    """The int a call's ``num_returns`` (and back-pressure) travels as."""
    if num_returns == "dynamic":
        return DYNAMIC_RETURNS
    if num_returns == "streaming":
        limit = DEFAULT_BACKPRESSURE if backpressure is None else backpressure
        return -2 if limit < 0 else -2 - limit
    assert isinstance(num_returns, int)
    return num_returns


def stream_backpressure(wire: int) -> int:
    """How many unconsumed items a streaming producer may run ahead (0: no limit)."""
    return -2 - wire


def _check_strategy(value: Any) -> None:
    if value is None or value in _SCHEDULING_STRATEGIES:
        return
    if hasattr(value, "node_id") or hasattr(value, "placement_group"):
        return  # NodeAffinitySchedulingStrategy / PlacementGroupSchedulingStrategy
    raise ValueError(f"option scheduling_strategy must be one of {_SCHEDULING_STRATEGIES} or a "
                     f"scheduling strategy object, got {value!r}")


DEFAULT_CONCURRENCY_GROUP = "default"


def _check_group_name(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"option concurrency_group must be a non-empty string naming one of "
                         f"the actor's concurrency groups, got {value!r}")
    return value


def _check_concurrency_groups(value: Any) -> dict[str, int]:
    if not isinstance(value, dict):
        raise ValueError("option concurrency_groups must be a dict of group name -> max "
                         f"concurrency, e.g. {{'io': 2}}, got {value!r}")
    for name, limit in value.items():
        _check_group_name(name)
        if name == DEFAULT_CONCURRENCY_GROUP:
            raise ValueError("concurrency group 'default' is the group of the methods that "
                             "name none; set its limit with max_concurrency=...")
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError(f"concurrency group {name!r} must have a max concurrency int >= 1, "
                             f"got {limit!r}")
    return dict(value)


def _check_events(given: dict[str, Any]) -> None:
    value = given.get("enable_task_events", True)
    if not isinstance(value, bool):
        raise ValueError("option enable_task_events must be True or False (False: leave the "
                         f"calls out of the timeline and the state API), got {value!r}")


def _check_max_pending_calls(value: Any) -> int:
    if value is None or (type(value) is int and value == 0):
        return -1   # Ray reads both as no limit
    if isinstance(value, bool) or not isinstance(value, int) or value < -1:
        raise ValueError("option max_pending_calls must be an int > 0 (unfinished calls a "
                         f"caller may have on the actor) or -1 (no limit), got {value!r}")
    return value


def _check_backoff(value: Any) -> tuple[float, float]:
    if (not isinstance(value, (tuple, list)) or len(value) != 2
            or any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in value)
            or not 0 <= value[0] <= value[1]):
        raise ValueError("option restart_backoff must be (first, longest) delays in seconds "
                         f"with 0 <= first <= longest, got {value!r}")
    return float(value[0]), float(value[1])


def _check_intensity(value: Any) -> tuple[int, float]:
    if (not isinstance(value, (tuple, list)) or len(value) != 2
            or isinstance(value[0], bool) or not isinstance(value[0], int) or value[0] < 0
            or isinstance(value[1], bool) or not isinstance(value[1], (int, float))
            or value[1] <= 0):
        raise ValueError("option restart_intensity must be (restarts, seconds): give up after "
                         f"more than that many restarts within that time, got {value!r}")
    return value[0], float(value[1])


# --- Ray's options that actorium does not implement --------------------------------------
# Ray (2.60, ray/_common/ray_option_utils.py and ray.method) accepts these; rather than take
# and ignore them, each is refused naming it and saying what to do instead. An option of
# one kind given to another (``max_calls`` to an actor) is refused as Ray refuses it.
_PLACEMENT = ("is Ray's deprecated form; use scheduling_strategy="
              "PlacementGroupSchedulingStrategy(pg, ...) from actorium.util.scheduling_strategies")
_LABELS = ("is not implemented: nodes have no labels here; use "
           "NodeAffinitySchedulingStrategy or a custom resource (resources={...})")
_RAY_COMMON_NOT_IMPLEMENTED = {
    "accelerator_type": "is not implemented: there are no accelerator types; ask for a custom "
                        "resource the nodes offer (resources={...}) instead",
    "label_selector": _LABELS,
    "fallback_strategy": _LABELS,
    "_labels": _LABELS,
    "object_store_memory": "is not implemented per task or actor: the object store has one "
                           "budget per node (init(object_store_memory=...)); memory=... "
                           "reserves heap memory",
    "placement_group": _PLACEMENT,
    "placement_group_bundle_index": _PLACEMENT,
    "placement_group_capture_child_tasks": _PLACEMENT,
}
_RAY_NOT_IMPLEMENTED = {
    "a remote function": {
        **_RAY_COMMON_NOT_IMPLEMENTED,
        "_num_objects_per_yield": "is not implemented: a generator sends each item as it is "
                                  "yielded",
    },
    "an actor class": {
        **_RAY_COMMON_NOT_IMPLEMENTED,
        "enable_tensor_transport": "is not implemented: tensors travel as other values",
        "allow_out_of_order_execution": "is not implemented: an actor runs its calls in the "
                                        "order sent (use max_concurrency or an async actor for "
                                        "calls that overlap)",
        "_actor_generator_backpressure_num_objects": "is not implemented: set "
                                                     "_generator_backpressure_num_objects on "
                                                     "the generator methods",
    },
    "an actor method": {
        "max_task_retries": "is not implemented per method: set max_task_retries on the actor "
                            "(ActorClass.options(max_task_retries=...))",
        "_num_objects_per_yield": "is not implemented: a generator sends each item as it is "
                                  "yielded",
        "tensor_transport": "is not implemented: tensors travel as other values",
        "name": "is not implemented for actor method calls: calls are listed under their "
                "method's name",
    },
}
# Options Ray has for one kind only: given to another kind, Ray refuses them too.
_TASK_ONLY = ("max_calls", "max_retries", "num_returns", "retry_exceptions",
              "_generator_backpressure_num_objects")
_ACTOR_ONLY = ("max_restarts", "max_task_retries", "max_concurrency", "lifetime", "namespace",
               "get_if_exists", "concurrency_groups", "max_pending_calls")


def _reject_unknown(kind: str, allowed: set[str], given: dict[str, Any]) -> None:
    unknown = sorted(set(given) - allowed)
    if not unknown:
        return
    not_implemented = _RAY_NOT_IMPLEMENTED.get(kind, {})
    for name in unknown:
        if name in not_implemented:
            raise ValueError(f"option {name} of {kind} {not_implemented[name]}")
    for name in unknown:
        if kind != "a remote function" and name in _TASK_ONLY:
            raise ValueError(f"option {name} is for remote functions, not for {kind} (as in "
                             f"Ray)")
        if kind != "an actor class" and name in _ACTOR_ONLY:
            raise ValueError(f"option {name} is for actor classes, not for {kind} (as in Ray)")
    raise ValueError(f"unknown option(s) for {kind}: {', '.join(unknown)}; "
                     f"valid options are: {', '.join(sorted(allowed))}")


def _check_retry_exceptions(given: dict[str, Any]) -> None:
    """``retry_exceptions``: a bool or exception classes (a list is kept as a tuple)."""
    if "retry_exceptions" not in given:
        return
    value = given["retry_exceptions"]
    if isinstance(value, list):
        given["retry_exceptions"] = value = tuple(value)
    if not isinstance(value, bool) and not (
            isinstance(value, tuple) and all(
                isinstance(c, type) and issubclass(c, BaseException) for c in value)):
        raise ValueError("option retry_exceptions must be a bool or a list of exception "
                         f"classes, got {value!r}")


def _check_memory(given: dict[str, Any]) -> None:
    """Ray's ``memory=``: bytes of the node's logical ``memory`` resource the work holds
    while it runs (scheduling only, as in Ray: nothing limits what the process allocates).
    None means none, as leaving it out does."""
    if "memory" not in given:
        return
    if given["memory"] is None:
        given["memory"] = 0.0
    _check_non_negative_number("memory", given["memory"])
    given["memory"] = float(given["memory"])


@dataclass(frozen=True, slots=True)
class TaskOptions:
    """How a remote function runs: resources, returns, retries."""

    num_cpus: float = 1.0
    num_gpus: float = 0.0
    memory: float = 0.0
    resources: dict[str, float] = field(default_factory=dict)
    num_returns: int | str = 1
    max_retries: int = 3
    retry_exceptions: bool | tuple[type[BaseException], ...] = False
    scheduling_strategy: Any = None
    name: str | None = None
    runtime_env: RuntimeEnv | None = None
    # Tasks of this function a worker runs before it is replaced (0: no limit; None: Ray's
    # default, 1 for a task that reserves GPUs, so that its CUDA context goes with it).
    max_calls: int | None = None
    # Ray's name: how far a streaming generator may run ahead of its consumer (None: 128).
    _generator_backpressure_num_objects: int | None = None
    # False: the task is left out of the timeline and the state API (list_tasks), as in Ray.
    enable_task_events: bool = True

    @classmethod
    def override(cls, base: TaskOptions, **given: Any) -> TaskOptions:
        """``f.options(...)``: as ``build``, but ``max_calls`` belongs to the function (its
        workers are replaced after that many of its tasks), so Ray refuses it here."""
        if "max_calls" in given:
            raise ValueError("option max_calls cannot be set in .options(), as in Ray: give it "
                             "to @remote(max_calls=...)")
        return cls.build(base, **given)

    @classmethod
    def build(cls, base: TaskOptions | None = None, **given: Any) -> TaskOptions:
        """Validate ``given`` and overlay it on ``base`` (or the defaults)."""
        allowed = {f.name for f in dataclasses.fields(cls)}
        _reject_unknown("a remote function", allowed, given)
        if "num_cpus" in given:
            _check_non_negative_number("num_cpus", given["num_cpus"])
        if "num_gpus" in given:
            _check_non_negative_number("num_gpus", given["num_gpus"])
            check_gpu_request("num_gpus", given["num_gpus"])
        if given.get("max_calls") is not None:
            calls = given["max_calls"]
            if isinstance(calls, bool) or not isinstance(calls, int) or calls < 0:
                raise ValueError(f"option max_calls must be an int >= 0 (0: no limit), "
                                 f"got {calls!r}")
        _check_memory(given)
        _check_events(given)
        name = given.get("name")
        if name is not None and (not isinstance(name, str) or not name):
            raise ValueError(f"option name must be a non-empty string, got {name!r}")
        if "resources" in given:
            _check_resources(given["resources"] or {})
            given["resources"] = dict(given["resources"] or {})
        if "num_returns" in given:
            _check_num_returns(given["num_returns"])
        _check_backpressure(given.get("_generator_backpressure_num_objects"))
        if "max_retries" in given:
            _check_retry_count("max_retries", given["max_retries"])
        _check_retry_exceptions(given)
        if "scheduling_strategy" in given:
            _check_strategy(given["scheduling_strategy"])
        if "runtime_env" in given:
            given["runtime_env"] = parse_runtime_env(given["runtime_env"])
        return dataclasses.replace(base or cls(), **given)


@dataclass(frozen=True, slots=True)
class ActorOptions:
    """How an actor is placed, named, restarted and how many calls it runs at once."""

    num_cpus: float | None = None
    num_gpus: float = 0.0
    memory: float = 0.0
    resources: dict[str, float] = field(default_factory=dict)
    max_restarts: int = 0
    max_task_retries: int = 0
    restart_backoff: tuple[float, float] = (0.1, 5.0)
    restart_intensity: tuple[int, float] | None = None
    checkpoint_every: int | None = None
    checkpoint_interval: float | None = None
    max_concurrency: int | None = None
    name: str | None = None
    namespace: str | None = None
    lifetime: str | None = None
    get_if_exists: bool = False
    scheduling_strategy: Any = None
    runtime_env: RuntimeEnv | None = None
    # Named groups of methods, each running at most that many calls at once; the methods
    # of no group are in the default group, limited by max_concurrency (Ray's semantics).
    concurrency_groups: dict[str, int] | None = None
    # Ray's: unfinished calls a caller process may have on the actor before ``.remote()``
    # raises PendingCallsLimitExceeded (-1: no limit; Ray takes 0 and None for none too).
    max_pending_calls: int = -1
    # False: the actor's calls are left out of the timeline and the state API, as in Ray,
    # except those of methods that say otherwise (@method / .options(enable_task_events=)).
    enable_task_events: bool = True

    @classmethod
    def override(cls, base: ActorOptions, **given: Any) -> ActorOptions:
        """``ActorClass.options(...)``: as ``build``, but the concurrency groups belong to the
        class (its methods name them), so Ray refuses them here."""
        if "concurrency_groups" in given:
            raise ValueError("option concurrency_groups cannot be set in .options(), as in "
                             "Ray: give it to @remote(concurrency_groups={...})")
        return cls.build(base, **given)

    @classmethod
    def build(cls, base: ActorOptions | None = None, **given: Any) -> ActorOptions:
        """Validate ``given`` and overlay it on ``base`` (or the defaults)."""
        allowed = {f.name for f in dataclasses.fields(cls)}
        _reject_unknown("an actor class", allowed, given)
        if given.get("concurrency_groups") is not None:
            given["concurrency_groups"] = _check_concurrency_groups(given["concurrency_groups"])
        for name in ("num_cpus", "num_gpus"):
            if given.get(name) is not None:
                _check_non_negative_number(name, given[name])
        _check_memory(given)
        _check_events(given)
        if given.get("num_gpus"):
            check_gpu_request("num_gpus", given["num_gpus"])
        if "resources" in given:
            _check_resources(given["resources"] or {})
            given["resources"] = dict(given["resources"] or {})
        for name in ("max_restarts", "max_task_retries"):
            if name in given:
                _check_retry_count(name, given[name])
        if "restart_backoff" in given:
            given["restart_backoff"] = _check_backoff(given["restart_backoff"])
        if given.get("restart_intensity") is not None:
            given["restart_intensity"] = _check_intensity(given["restart_intensity"])
        every = given.get("checkpoint_every")
        if every is not None and (isinstance(every, bool) or not isinstance(every, int)
                                  or every < 1):
            raise ValueError(f"option checkpoint_every must be an int >= 1 (calls), got {every!r}")
        interval = given.get("checkpoint_interval")
        if interval is not None:
            _check_non_negative_number("checkpoint_interval", interval)
            if interval == 0:
                raise ValueError("option checkpoint_interval must be > 0 seconds, got 0")
        if "max_pending_calls" in given:
            given["max_pending_calls"] = _check_max_pending_calls(given["max_pending_calls"])
        concurrency = given.get("max_concurrency")
        if concurrency is not None and (isinstance(concurrency, bool)
                                        or not isinstance(concurrency, int) or concurrency < 1):
            raise ValueError(f"option max_concurrency must be an int >= 1, got {concurrency!r}")
        for name in ("name", "namespace"):
            value = given.get(name)
            if value is not None and (not isinstance(value, str) or not value):
                raise ValueError(f"option {name} must be a non-empty string, got {value!r}")
        lifetime = given.get("lifetime")
        if lifetime not in (None, "detached", "non_detached"):
            raise ValueError(f"option lifetime must be None, 'detached' or 'non_detached', "
                             f"got {lifetime!r}")
        if "scheduling_strategy" in given:
            _check_strategy(given["scheduling_strategy"])
        if "runtime_env" in given:
            given["runtime_env"] = parse_runtime_env(given["runtime_env"])
        built = dataclasses.replace(base or cls(), **given)
        if built.get_if_exists and built.name is None:
            raise ValueError("option get_if_exists needs a name: it returns the live actor of "
                             "that name (name=...), as in Ray")
        return built

    @property
    def dedicated_process(self) -> bool:
        """Actors that reserve a CPU get a worker process of their own."""
        return (self.num_cpus or 0) >= 1 or self.num_gpus > 0

    def to_wire(self) -> dict[str, Any]:
        """The subset the node needs for placement and restarts, msgpack-friendly."""
        return {
            "num_cpus": self.num_cpus or 0.0,
            "num_gpus": self.num_gpus,
            "memory": self.memory,
            "resources": self.resources,
            "max_restarts": self.max_restarts,
            "max_task_retries": self.max_task_retries,
            "restart_backoff": list(self.restart_backoff),
            "restart_intensity": list(self.restart_intensity) if self.restart_intensity else None,
            "checkpoint_every": self.checkpoint_every,
            "checkpoint_interval": self.checkpoint_interval,
            "name": self.name,
            "namespace": self.namespace,
            "detached": self.lifetime == "detached",
            "get_if_exists": self.get_if_exists,
            "dedicated": self.dedicated_process,
            "strategy": _strategy_to_wire(self.scheduling_strategy),
            "concurrency_groups": self.concurrency_groups,
            "max_pending_calls": self.max_pending_calls,
            "events": self.enable_task_events,
        }


def _strategy_to_wire(strategy: Any) -> Any:
    """The strategy as the node reads it. Called where the work is submitted, because a
    placement group is inherited from the running task or actor, as in Ray: work that names
    no strategy, made by a task or actor whose group captures its children
    (``placement_group_capture_child_tasks=True``), goes into the same group (any bundle)
    and captures its own children in turn. ``PlacementGroupSchedulingStrategy(None)`` or
    ``"DEFAULT"`` opts out."""
    if strategy is None:
        running = current_execution.get()
        placement = running.placement if running is not None else None
        if placement is not None and placement.get("capture"):
            return {**placement, "bundle": -1}
        return None
    if isinstance(strategy, str):
        return strategy
    node_id = getattr(strategy, "node_id", None)
    if node_id is not None:
        return {"node_id": node_id, "soft": bool(getattr(strategy, "soft", False))}
    if hasattr(strategy, "placement_group"):
        group = strategy.placement_group
        if group is None:
            return None
        capture = strategy.placement_group_capture_child_tasks
        if capture is None:   # Ray: inherit the running task's choice
            running = current_execution.get()
            capture = bool(running is not None and running.placement is not None
                           and running.placement.get("capture"))
        return {"placement_group": str(group.id),
                "bundle": int(strategy.placement_group_bundle_index),
                "capture": bool(capture), "bundles": group.bundle_specs}
    return None


def task_options_to_wire(options: TaskOptions) -> dict[str, Any]:
    wire = {
        "num_cpus": options.num_cpus,
        "num_gpus": options.num_gpus,
        "resources": options.resources,
        "strategy": _strategy_to_wire(options.scheduling_strategy),
        "max_calls": options.max_calls,
    }
    if options.memory:
        wire["memory"] = options.memory
    if not options.enable_task_events:
        wire["events"] = False
    return wire


@dataclass(frozen=True, slots=True)
class MethodOptions:
    """Options of one actor method: ``@actorium.method(num_returns=2)`` or ``.options()``."""

    num_returns: int | str = 1
    concurrency_group: str | None = None
    _generator_backpressure_num_objects: int | None = None
    # None: as the actor's enable_task_events says.
    enable_task_events: bool | None = None
    # Exceptions that run the call again (up to the actor's max_task_retries), as in Ray.
    retry_exceptions: bool | tuple[type[BaseException], ...] = False

    @classmethod
    def build(cls, base: MethodOptions | None = None, **given: Any) -> MethodOptions:
        allowed = {f.name for f in dataclasses.fields(cls)}
        _reject_unknown("an actor method", allowed, given)
        _check_retry_exceptions(given)
        if given.get("enable_task_events") is not None:
            _check_events(given)
        if "num_returns" in given:
            _check_num_returns(given["num_returns"])
        _check_backpressure(given.get("_generator_backpressure_num_objects"))
        if given.get("concurrency_group") is not None:
            _check_group_name(given["concurrency_group"])
        return dataclasses.replace(base or cls(), **given)
