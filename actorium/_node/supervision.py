"""Supervisor trees, kept by the node: which children to restart, when to give up, escalation.

A supervisor is an entry here, not a process: the node already notices every death first, so
it decides restarts without a round trip and a supervisor cannot itself crash. The public
``actorium.Supervisor`` (``_supervision/supervisor.py``) is a handle that describes the tree.

Design
------
* A child is an actor (created with the supervisor's id in its options) or a nested
  supervisor. ``children`` lists them in start order.
* When a child actor dies the ``ActorManager`` announces it as restarting (so its callers'
  pending calls resolve at once), leaves it unplaced and calls ``child_died``. The decision
  runs as a task, one at a time for the whole tree (``lock``), because stopping siblings
  awaits each one's graceful stop:

  1. the child's restart type says whether it comes back at all (``should_restart``);
  2. the supervisor's ``RestartHistory`` gives the back-off delay, or refuses: the intensity
     is exceeded, the supervisor gives up (its children are stopped in reverse start order)
     and its own parent handles it as a failed child — escalation — or, at the top, every
     child is buried and whoever waits on the supervisor is told;
  3. the strategy names the group to restart (``affected``): its other living members stop
     in reverse start order, each within its shutdown timeout, then all start again in start
     order (temporary ones are removed instead).

* Events about an incarnation that has meanwhile been restarted are stale and ignored.
"""

from __future__ import annotations

import asyncio
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from actorium._node.actor_manager import ActorStatus
from actorium._supervision.policy import (
    Backoff,
    Intensity,
    RestartHistory,
    RestartType,
    Strategy,
    affected,
    should_restart,
)

if TYPE_CHECKING:
    from actorium._node.actor_manager import ActorInfo
    from actorium._node.node import Node


class SupervisorState(StrEnum):
    RUNNING = "running"
    SUSPENDED = "suspended"    # gave up; its children are stopped until its parent decides
    STOPPING = "stopping"
    STOPPED = "stopped"        # stopped on request (or its owner died)
    FAILED = "failed"          # gave up and nobody above restarted it


class ChildSpec:
    __slots__ = ("restart", "shutdown", "is_supervisor")

    def __init__(self, restart: RestartType, shutdown: float, is_supervisor: bool) -> None:
        self.restart = restart
        self.shutdown = shutdown
        self.is_supervisor = is_supervisor


class SupervisorInfo:
    """One supervisor: strategy, restart history and children in start order."""

    def __init__(self, sup_id: bytes, spec: dict[str, Any]) -> None:
        self.sup_id = sup_id
        self.name: str = spec.get("name") or sup_id.hex()[:12]
        self.strategy = Strategy(spec.get("strategy", Strategy.ONE_FOR_ONE))
        self.backoff = Backoff(*spec.get("backoff") or (0.1, 5.0))
        limit, period = spec.get("intensity") or (3, 5.0)
        self.intensity = Intensity(int(limit), float(period))
        # Intensity is the supervisor's; back-off streaks are each child's own (a crash-looping
        # child must not slow down the restart of a sibling that crashed once).
        self.history = RestartHistory(Backoff(0.0, 0.0), self.intensity)
        self.own_backoff = RestartHistory(self.backoff, None)   # when its parent restarts it
        self.parent: bytes | None = spec.get("parent")
        self.owner_key: bytes | str | None = None
        self.children: list[bytes] = []
        self.specs: dict[bytes, ChildSpec] = {}
        self.state = SupervisorState.RUNNING
        self.reason = ""
        self.restarts = 0
        self.last_incident: bytes | None = None   # the worker death counted last
        self.waiters: list[asyncio.Future[dict[str, Any]]] = []

    @property
    def label(self) -> str:
        return f"supervisor {self.name}"

    def describe(self) -> dict[str, Any]:
        return {"id": self.sup_id.hex(), "name": self.name, "state": self.state.value,
                "strategy": self.strategy.value, "restarts": self.restarts,
                "reason": self.reason, "children": [c.hex() for c in self.children]}


class SupervisionTree:
    """Every supervisor of the node, and the decisions taken when their children die."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.sups: dict[bytes, SupervisorInfo] = {}
        self.owned: dict[bytes | str, set[bytes]] = {}
        self.lock = asyncio.Lock()

    # ------------------------------------------------------------------ membership
    def create(self, sup_id: bytes, owner_key: bytes | str, spec: dict[str, Any]) -> None:
        if sup_id in self.sups:
            raise ValueError(f"supervisor {sup_id.hex()} exists already")
        sup = SupervisorInfo(sup_id, spec)
        if sup.parent is not None:
            parent = self.sups.get(sup.parent)
            if parent is None or parent.state is not SupervisorState.RUNNING:
                raise ValueError(f"{sup.label} cannot start: its parent supervisor is not "
                                 f"running")
            parent.children.append(sup_id)
            parent.specs[sup_id] = ChildSpec(RestartType(spec.get("restart", "permanent")),
                                             0.0, True)
        else:
            sup.owner_key = owner_key
            self.owned.setdefault(owner_key, set()).add(sup_id)
        self.sups[sup_id] = sup

    def admit(self, info: ActorInfo) -> bool:
        """A new actor names this supervisor: it becomes its last child."""
        assert info.supervisor is not None
        sup = self.sups.get(info.supervisor)
        if sup is None or sup.state is not SupervisorState.RUNNING:
            return False
        sup.children.append(info.actor_id)
        sup.specs[info.actor_id] = ChildSpec(
            RestartType(info.options.get("restart_type") or "permanent"),
            float(info.options.get("shutdown_timeout", 5.0)), False)
        return True

    def running(self, sup_id: bytes) -> bool:
        sup = self.sups.get(sup_id)
        return sup is not None and sup.state is SupervisorState.RUNNING

    def forget_child(self, sup_id: bytes, child_id: bytes) -> None:
        sup = self.sups.get(sup_id)
        if sup is not None and child_id in sup.specs:
            sup.children.remove(child_id)
            del sup.specs[child_id]

    def owner_gone(self, owner_key: bytes | str, reason: str) -> None:
        for sup_id in self.owned.pop(owner_key, ()):
            sup = self.sups.get(sup_id)
            if sup is not None:
                self._finish(sup, SupervisorState.STOPPED, reason)

    # ------------------------------------------------------------------ requests
    def describe(self, sup_id: bytes) -> dict[str, Any]:
        sup = self.sups.get(sup_id)
        if sup is None:
            raise ValueError(f"no supervisor {sup_id.hex()} on this node")
        return sup.describe()

    async def wait(self, sup_id: bytes) -> dict[str, Any]:
        sup = self.sups.get(sup_id)
        if sup is None:
            raise ValueError(f"no supervisor {sup_id.hex()} on this node")
        if sup.state in (SupervisorState.STOPPED, SupervisorState.FAILED):
            return sup.describe()
        future: asyncio.Future[dict[str, Any]] = self.node.loop.create_future()
        sup.waiters.append(future)
        return await future

    async def stop(self, sup_id: bytes, reason: str) -> dict[str, Any]:
        """Stop every child in reverse start order (each within its timeout), then finish."""
        async with self.lock:
            sup = self.sups.get(sup_id)
            if sup is None:
                raise ValueError(f"no supervisor {sup_id.hex()} on this node")
            if sup.state in (SupervisorState.RUNNING, SupervisorState.SUSPENDED):
                sup.state = SupervisorState.STOPPING
                await self._stop_all(sup, reason)
                self._finish(sup, SupervisorState.STOPPED, reason)
                if sup.parent is not None:
                    parent = self.sups.get(sup.parent)
                    if parent is not None:
                        self.forget_child(parent.sup_id, sup_id)
            return sup.describe()

    # ------------------------------------------------------------------ deaths
    def child_died(self, sup_id: bytes, child_id: bytes, incarnation: int, reason: str,
                   abnormal: bool, incident: bytes | None = None) -> None:
        """An actor child died (the ActorManager announced it restarting, unplaced).

        ``incident`` names a cause shared by several deaths (the worker process that took
        them all down): the supervisor counts it as one restart against its intensity.
        """
        self.node.loop.create_task(self._locked_death(sup_id, child_id, incarnation, reason,
                                                      abnormal, incident))

    async def _locked_death(self, sup_id: bytes, child_id: bytes, incarnation: int,
                            reason: str, abnormal: bool, incident: bytes | None) -> None:
        async with self.lock:
            await self._on_death(sup_id, child_id, incarnation, reason, abnormal, incident)

    async def _on_death(self, sup_id: bytes, child_id: bytes, incarnation: int, reason: str,
                        abnormal: bool, incident: bytes | None = None) -> None:
        sup = self.sups.get(sup_id)
        if sup is None or sup.state is not SupervisorState.RUNNING or child_id not in sup.specs:
            self._bury_child(child_id, reason)
            return
        if not self._waiting(child_id, incarnation):
            return  # stale: that incarnation was already dealt with
        label = self._label(child_id)
        spec = sup.specs[child_id]
        if not should_restart(spec.restart, abnormal):
            self._remove(sup, child_id, f"{label} is {spec.restart.value} and {reason}")
            return
        if incident is None or incident != sup.last_incident:
            if sup.history.next_restart() is None:
                await self._give_up(sup, f"{label} died ({reason}) after {sup.label} "
                                         f"restarted {sup.intensity.describe()}")
                return
            sup.restarts += 1
        sup.last_incident = incident
        delay = self._backoff(child_id)
        group = affected(sup.strategy, sup.children, child_id)
        note = (f"{sup.label} restarts it ({sup.strategy.value}) because {label} died: "
                f"{reason}")
        for other in reversed(group):
            if other != child_id:
                await self._stop_child(sup, other, note)
        if sup.state is not SupervisorState.RUNNING:
            return  # stopped meanwhile
        for member in group:
            if member != child_id and sup.specs[member].restart is RestartType.TEMPORARY:
                self._remove(sup, member, note)
            else:
                self._start_child(member, delay)

    async def _give_up(self, sup: SupervisorInfo, reason: str) -> None:
        """Intensity exceeded: stop the children; escalate to the parent, or fail for good."""
        sup.state = SupervisorState.SUSPENDED
        sup.reason = f"{sup.label} gave up: {reason}"
        parent = self.sups.get(sup.parent) if sup.parent is not None else None
        if parent is None or parent.state is not SupervisorState.RUNNING:
            # Nobody will restart them: callers of the dead children hear it now, not after
            # the living ones have had their shutdown timeouts.
            for child_id in list(sup.children):
                info = self._info(child_id)
                if info is not None and info.awaiting_supervisor:
                    self._remove(sup, child_id, sup.reason)
        await self._stop_all(sup, sup.reason)
        if parent is not None and parent.state is SupervisorState.RUNNING:
            await self._on_death(parent.sup_id, sup.sup_id, -1, sup.reason, True)
        else:
            self._finish(sup, SupervisorState.FAILED, sup.reason)

    # ------------------------------------------------------------------ children
    def _info(self, child_id: bytes) -> ActorInfo | None:
        return self.node.actors.actors.get(child_id)

    def _label(self, child_id: bytes) -> str:
        sup = self.sups.get(child_id)
        if sup is not None:
            return sup.label
        info = self._info(child_id)
        return f"actor {info.label}" if info is not None else f"child {child_id.hex()}"

    def _backoff(self, child_id: bytes) -> float:
        """The delay before restarting this child: its own back-off streak."""
        sub = self.sups.get(child_id)
        history = sub.own_backoff if sub is not None else getattr(self._info(child_id),
                                                                  "history", None)
        if history is None:
            return 0.0
        saved, history.intensity = history.intensity, None   # the supervisor's intensity rules
        try:
            return history.next_restart() or 0.0
        finally:
            history.intensity = saved

    def _waiting(self, child_id: bytes, incarnation: int) -> bool:
        """True if the child is dead and waits for this supervisor's decision."""
        sub = self.sups.get(child_id)
        if sub is not None:
            return sub.state is SupervisorState.SUSPENDED
        info = self._info(child_id)
        return info is not None and info.awaiting_supervisor and info.incarnation == incarnation

    async def _stop_child(self, sup: SupervisorInfo, child_id: bytes, reason: str) -> None:
        """Stop a living child (gracefully) and leave it dead and unplaced."""
        sub = self.sups.get(child_id)
        if sub is not None:
            if sub.state is SupervisorState.RUNNING:
                sub.state = SupervisorState.SUSPENDED
                await self._stop_all(sub, reason)
            return
        info = self._info(child_id)
        if info is None or info.status is ActorStatus.DEAD or info.awaiting_supervisor:
            return
        manager = self.node.actors
        if info.restart_timer is not None:       # between incarnations: just hold it there
            info.restart_timer.cancel()
            info.restart_timer = None
            info.awaiting_supervisor = True
            return
        await manager.stop(info, sup.specs[child_id].shutdown, reason)
        if _alive(info) and not info.awaiting_supervisor:   # it may have died meanwhile
            manager.begin_restart(info, reason)
            info.awaiting_supervisor = True

    async def _stop_all(self, sup: SupervisorInfo, reason: str) -> None:
        for child_id in reversed(list(sup.children)):
            await self._stop_child(sup, child_id, reason)

    def _start_child(self, child_id: bytes, delay: float) -> None:
        sub = self.sups.get(child_id)
        if sub is not None:
            sub.state = SupervisorState.RUNNING
            sub.history = RestartHistory(Backoff(0.0, 0.0), sub.intensity)
            sub.reason = ""
            for grandchild in list(sub.children):
                self._start_child(grandchild, delay)
            return
        info = self._info(child_id)
        if info is not None and info.awaiting_supervisor and info.status is not ActorStatus.DEAD:
            info.awaiting_supervisor = False   # decided: later news of this death is stale
            self.node.actors.place_later(info, delay)

    def _remove(self, sup: SupervisorInfo, child_id: bytes, reason: str) -> None:
        self.forget_child(sup.sup_id, child_id)
        sub = self.sups.get(child_id)
        if sub is not None:
            self._finish(sub, SupervisorState.STOPPED, reason)
        else:
            self._bury_child(child_id, reason)

    def _bury_child(self, child_id: bytes, reason: str) -> None:
        info = self._info(child_id)
        if info is not None:
            self.node.actors.bury(info, reason)

    def _finish(self, sup: SupervisorInfo, state: SupervisorState, reason: str) -> None:
        """The supervisor is over: bury its subtree and answer whoever waits."""
        if sup.state in (SupervisorState.STOPPED, SupervisorState.FAILED):
            return
        sup.state = state
        sup.reason = sup.reason or reason
        for child_id in list(sup.children):
            sub = self.sups.get(child_id)
            if sub is not None:
                self._finish(sub, state, sup.reason)
            else:
                self._bury_child(child_id, sup.reason)
        sup.children.clear()
        sup.specs.clear()
        if sup.owner_key is not None:
            self.owned.get(sup.owner_key, set()).discard(sup.sup_id)
        described = sup.describe()
        for waiter in sup.waiters:
            if not waiter.done():
                waiter.set_result(described)
        sup.waiters.clear()


def _alive(info: ActorInfo) -> bool:
    return info.status is not ActorStatus.DEAD
