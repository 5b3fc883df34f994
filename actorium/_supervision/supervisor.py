"""``actorium.Supervisor``: start actors under a restart strategy, OTP style, as a Python scope.

    with actorium.Supervisor(strategy="rest_for_one", max_restarts=3, within=5.0) as sup:
        db = sup.start(Database, "sqlite:///twins.db")
        twin = sup.start(Twin, "pump-7", restart="transient", shutdown_timeout=2.0)
        ...                                # use the handles; crashed children come back
    # leaving the block stops the children in reverse start order

The supervisor itself lives in the node (``_node/supervision.py``), which sees every death
first; this object is a handle to it. Handles of children stay valid across their restarts:
a restarted child is a new incarnation of the same actor.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType
from typing import Any, TypeVar

from actorium._core import context
from actorium._core.actor import ActorClass, ActorHandle, _BoundActorClass
from actorium._core.options import ActorOptions
from actorium._supervision.policy import DEFAULT_BACKOFF, RestartType, Strategy

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SupervisorOptions:
    """How a supervisor restarts its children; validated in one place (``build``)."""

    strategy: Strategy = Strategy.ONE_FOR_ONE
    max_restarts: int = 3           # intensity: more than this many restarts ...
    within: float = 5.0             # ... within this many seconds, and the supervisor gives up
    backoff: tuple[float, float] = DEFAULT_BACKOFF
    name: str | None = None

    @classmethod
    def build(cls, **given: Any) -> SupervisorOptions:
        try:
            strategy = Strategy(given.get("strategy", Strategy.ONE_FOR_ONE))
        except ValueError:
            raise ValueError(f"strategy must be one of {', '.join(s.value for s in Strategy)}, "
                             f"got {given.get('strategy')!r}") from None
        limit = given.get("max_restarts", 3)
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            raise ValueError(f"max_restarts must be an int >= 0, got {limit!r}")
        within = given.get("within", 5.0)
        if isinstance(within, bool) or not isinstance(within, (int, float)) or within <= 0:
            raise ValueError(f"within must be a number of seconds > 0, got {within!r}")
        backoff = ActorOptions.build(restart_backoff=given.get("backoff", DEFAULT_BACKOFF))
        name = given.get("name")
        if name is not None and (not isinstance(name, str) or not name):
            raise ValueError(f"name must be a non-empty string, got {name!r}")
        return cls(strategy, limit, float(within), backoff.restart_backoff, name)

    def to_wire(self) -> dict[str, Any]:
        return {"strategy": self.strategy.value, "intensity": [self.max_restarts, self.within],
                "backoff": list(self.backoff), "name": self.name}


@dataclass(frozen=True, slots=True)
class SupervisorStatus:
    """A snapshot of a supervisor, from ``status()``, ``wait()`` or ``stop()``.

    ``state`` is ``"running"``, ``"suspended"`` (it gave up; its parent decides),
    ``"stopping"``, ``"stopped"`` or ``"failed"`` (it gave up and nobody restarted it);
    ``reason`` says why it stopped or gave up.
    """

    state: str
    strategy: str
    restarts: int
    reason: str
    children: tuple[str, ...]

    @classmethod
    def from_wire(cls, described: dict[str, Any]) -> SupervisorStatus:
        return cls(described["state"], described["strategy"], described["restarts"],
                   described["reason"], tuple(described["children"]))


def _restart_type(value: Any) -> RestartType:
    try:
        return RestartType(value)
    except ValueError:
        raise ValueError(f"restart must be one of {', '.join(r.value for r in RestartType)}, "
                         f"got {value!r}") from None


class Supervisor:
    """Starts child actors and restarts them when they die, by a strategy.

    * ``strategy``: ``"one_for_one"`` restarts only the child that died; ``"one_for_all"``
      stops all the others and restarts every child; ``"rest_for_one"`` restarts the child
      and those started after it.
    * ``max_restarts`` / ``within``: more than that many restarts within that many seconds
      and the supervisor gives up: it stops its children and, if it is nested, its parent
      handles that as a failed child (escalation); at the top it fails and ``wait()`` says so.
    * ``backoff``: (first, longest) delay before a restart, doubling while restarts repeat.

    Creating one does not block. Its children die with whoever created the supervisor (the
    driver, or the actor whose code created it). Leaving a ``with`` block (or ``stop()``)
    stops the children in reverse start order, each within its ``shutdown_timeout``.
    """

    def __init__(self, *, strategy: str | Strategy = Strategy.ONE_FOR_ONE,
                 max_restarts: int = 3, within: float = 5.0,
                 backoff: tuple[float, float] = DEFAULT_BACKOFF, name: str | None = None,
                 ) -> None:
        self._options = SupervisorOptions.build(strategy=strategy, max_restarts=max_restarts,
                                                within=within, backoff=backoff, name=name)
        self._create(None, RestartType.PERMANENT)

    def _create(self, parent: bytes | None, restart: RestartType) -> None:
        runtime = context.current_runtime()
        self._id = runtime.ids.next_id()
        running = context.current_execution.get()
        owner = running.actor_id if running is not None and running.actor_id else \
            runtime.address
        spec = self._options.to_wire()
        spec.update(parent=parent, restart=restart.value)
        # Not awaited: later CREATE_ACTORs from this thread reach the node after it.
        runtime.notify_node("create_supervisor", self._id, owner, spec)

    @property
    def id(self) -> str:
        return self._id.hex()

    def __repr__(self) -> str:
        name = f" {self._options.name!r}" if self._options.name else ""
        return f"<Supervisor{name} {self._options.strategy.value} {self.id[:12]}>"

    # ------------------------------------------------------------------ children
    def start(self, actor_class: ActorClass[T] | _BoundActorClass[T], /, *args: Any,
              restart: str | RestartType = RestartType.PERMANENT,
              shutdown_timeout: float = 5.0, **kwargs: Any) -> ActorHandle[T]:
        """Start a child actor (``actor_class`` may carry ``.options(...)``); its handle.

        ``restart``: ``"permanent"`` (always restarted), ``"transient"`` (only if it died
        abnormally: crashed or killed, not ``exit_actor()``) or ``"temporary"`` (never).
        ``shutdown_timeout``: seconds its running calls get when it is stopped, before it is
        killed. Its own ``max_restarts`` is not used: the supervisor decides. Does not block.
        """
        kind = _restart_type(restart)
        if isinstance(shutdown_timeout, bool) or not isinstance(shutdown_timeout, (int, float)) \
                or shutdown_timeout < 0:
            raise ValueError(f"shutdown_timeout must be a number of seconds >= 0, got "
                             f"{shutdown_timeout!r}")
        if isinstance(actor_class, _BoundActorClass):
            cls, options = actor_class._actor_class, actor_class._options
        elif isinstance(actor_class, ActorClass):
            cls, options = actor_class, actor_class._options
        else:
            raise TypeError(f"Supervisor.start() takes an actor class (@remote class), got "
                            f"{type(actor_class).__name__}")
        return cls._create(args, kwargs, options, supervision={
            "supervisor": self._id, "restart_type": kind.value,
            "shutdown_timeout": float(shutdown_timeout)})

    def supervisor(self, *, strategy: str | Strategy = Strategy.ONE_FOR_ONE,
                   max_restarts: int = 3, within: float = 5.0,
                   backoff: tuple[float, float] = DEFAULT_BACKOFF, name: str | None = None,
                   restart: str | RestartType = RestartType.PERMANENT) -> Supervisor:
        """Start a nested supervisor as this one's next child; when it gives up, this one
        handles it like any failed child (restarting its whole subtree, per ``strategy``)."""
        child = Supervisor.__new__(Supervisor)
        child._options = SupervisorOptions.build(strategy=strategy, max_restarts=max_restarts,
                                                 within=within, backoff=backoff, name=name)
        child._create(self._id, _restart_type(restart))
        return child

    # ------------------------------------------------------------------ state and stop
    def status(self) -> SupervisorStatus:
        """Its state now (blocks for one round trip to the node)."""
        return SupervisorStatus.from_wire(
            context.current_runtime().request("supervisor_status", self._id))

    def wait(self, timeout: float | None = None) -> SupervisorStatus:
        """Block until it is stopped or has failed; raises ``GetTimeoutError`` after timeout."""
        return SupervisorStatus.from_wire(
            context.current_runtime().request("wait_supervisor", self._id, timeout=timeout))

    async def wait_async(self) -> SupervisorStatus:
        """``wait()`` for async code."""
        return SupervisorStatus.from_wire(
            await context.current_runtime().request_async("wait_supervisor", self._id))

    def stop(self, reason: str = "its supervisor was stopped") -> SupervisorStatus:
        """Stop the children in reverse start order (each within its shutdown timeout, then
        killed); blocks until they are. Their handles then raise ``ActorDiedError``."""
        return SupervisorStatus.from_wire(context.current_runtime().request(
            "stop_supervisor", self._id, reason, timeout=None))

    async def stop_async(self, reason: str = "its supervisor was stopped") -> SupervisorStatus:
        """``stop()`` for async code."""
        return SupervisorStatus.from_wire(
            await context.current_runtime().request_async("stop_supervisor", self._id, reason))

    def __enter__(self) -> Supervisor:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> Supervisor:
        return self

    async def __aexit__(self, _type: type[BaseException] | None, _exc: BaseException | None,
                        _tb: TracebackType | None) -> None:
        await self.stop_async()


__all__ = ["Supervisor", "SupervisorOptions", "SupervisorStatus"]
