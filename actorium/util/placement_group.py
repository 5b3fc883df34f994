"""Placement groups with Ray's names: reserve resources on nodes together, then run work in them.

    pg = placement_group([{"CPU": 1}, {"CPU": 1}], strategy="STRICT_SPREAD")
    actorium.get(pg.ready())                     # or: await pg.ready()
    strategy = PlacementGroupSchedulingStrategy(pg, placement_group_bundle_index=0)
    actor = Worker.options(scheduling_strategy=strategy).remote()
    remove_placement_group(pg)                   # kills the actors placed in it

Creating a group that can never fit the cluster (a bundle no node has room for, or
``STRICT_SPREAD`` over more bundles than there are nodes) raises ValueError at once, saying
why. A group that fits but not right now waits, ``PENDING``, until resources are free. Groups
a driver created are removed when it disconnects, unless made with ``lifetime="detached"``.
"""

from __future__ import annotations

from typing import Any

from actorium._core import context
from actorium._core.ids import random_id
from actorium._core.objects import FAILED, READY
from actorium._core.ref import ObjectRef
from actorium._core.values import check_not_in_loop
from actorium._transport import serialization

__all__ = ["PlacementGroup", "get_current_placement_group", "get_placement_group",
           "placement_group", "placement_group_table", "remove_placement_group"]

_STRATEGIES = ("PACK", "SPREAD", "STRICT_PACK", "STRICT_SPREAD")


class PlacementGroupID(str):
    """A placement group's id: a hex string with Ray's ``.hex()``."""

    __slots__ = ()

    def hex(self) -> str:
        return str(self)


class PlacementGroup:
    """A handle on a placement group; picklable, so tasks and actors can be given one."""

    def __init__(self, group_id: str, bundles: list[dict[str, float]]) -> None:
        self.id = PlacementGroupID(group_id)
        self._bundles = [dict(b) for b in bundles]

    @property
    def bundle_specs(self) -> list[dict[str, float]]:
        """The bundles, as given at creation."""
        return [dict(b) for b in self._bundles]

    @property
    def bundle_count(self) -> int:
        return len(self._bundles)

    def ready(self) -> ObjectRef[PlacementGroup]:
        """A ref that completes (with this group) once every bundle is reserved.

        ``get()`` it or ``await`` it; it raises ValueError if the group is removed first or
        can no longer be placed. Never blocks by itself.
        """
        runtime = context.current_runtime()
        (ref,) = runtime.new_owned_refs(runtime.ids.next_id(), 1)
        object_id = ref.id
        loop = runtime.loop
        assert loop is not None
        future = runtime._start_request("wait_placement_group", (str(self.id),))

        def settle(done: Any) -> None:
            error = done.exception()
            outcome: tuple[bytes, int, int, bytes, list[Any]]
            if error is None:
                fmt, data, _buffers, _ = serialization.dumps(self)
                outcome = (object_id, READY, fmt, data, [])
            else:
                outcome = (object_id, FAILED, serialization.PICKLE,
                           serialization.dumps(error)[1], [])
            try:
                loop.call_soon_threadsafe(runtime.objects.complete, *outcome)
            except RuntimeError:
                pass   # the runtime was shut down meanwhile

        future.add_done_callback(settle)
        return ref

    def wait(self, timeout_seconds: float = 30) -> bool:
        """Block up to ``timeout_seconds`` for the group to be ready; True if it is.

        Not on a thread running an event loop (``await pg.ready()`` there).
        """
        from actorium._api import wait

        check_not_in_loop("PlacementGroup.wait()")
        done, _ = wait([self.ready()], timeout=timeout_seconds)
        return bool(done)

    def __reduce__(self) -> tuple[Any, ...]:
        return (PlacementGroup, (str(self.id), self._bundles))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PlacementGroup) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    def __repr__(self) -> str:
        return f"PlacementGroup({self.id}, {self._bundles})"


def _check_bundles(bundles: Any) -> list[dict[str, float]]:
    if not isinstance(bundles, (list, tuple)) or not bundles:
        raise ValueError(f"bundles must be a non-empty list of resource dicts, got {bundles!r}")
    checked = []
    for bundle in bundles:
        if not isinstance(bundle, dict) or not bundle:
            raise ValueError(f"a bundle must be a non-empty dict such as {{'CPU': 1}}, "
                             f"got {bundle!r}")
        for name, amount in bundle.items():
            if not isinstance(name, str) or isinstance(amount, bool) or \
                    not isinstance(amount, (int, float)) or amount < 0:
                raise ValueError(f"a bundle maps resource names to amounts >= 0, got "
                                 f"{name!r}: {amount!r} in {bundle!r}")
        if not any(amount > 0 for amount in bundle.values()):
            raise ValueError(f"a bundle must ask for some resource, got {bundle!r}")
        checked.append({name: float(amount) for name, amount in bundle.items()})
    return checked


def placement_group(bundles: list[dict[str, float]], strategy: str = "PACK", name: str = "",
                    lifetime: str | None = None) -> PlacementGroup:
    """Ask for ``bundles`` to be reserved together with ``strategy``; returns at once.

    Raises ValueError for bad arguments, a name already in use, or a group the cluster can
    never hold (the message says why). Use ``pg.ready()`` / ``pg.wait()`` to know when the
    bundles are reserved.
    """
    checked = _check_bundles(bundles)
    if strategy not in _STRATEGIES:
        raise ValueError(f"strategy must be one of {_STRATEGIES}, got {strategy!r}")
    if not isinstance(name, str):
        raise ValueError(f"name must be a string, got {name!r}")
    if lifetime not in (None, "detached"):
        raise ValueError(f"lifetime must be None or 'detached', got {lifetime!r}")
    runtime = context.current_runtime()
    group_id = random_id(16).hex()
    runtime.request("create_placement_group", group_id, checked, strategy, name,
                    runtime.address, lifetime == "detached")
    return PlacementGroup(group_id, checked)


def remove_placement_group(placement_group: PlacementGroup) -> None:
    """Release the group's bundles and kill the actors placed in it (blocks briefly)."""
    if not isinstance(placement_group, PlacementGroup):
        raise TypeError(f"remove_placement_group() takes a PlacementGroup, got "
                        f"{type(placement_group).__name__}")
    context.current_runtime().request("remove_placement_group", str(placement_group.id))


def get_placement_group(placement_group_name: str) -> PlacementGroup:
    """The live group named so (ValueError if there is none)."""
    row = context.current_runtime().request("get_placement_group", placement_group_name)
    return PlacementGroup(row["placement_group_id"], row["bundles"])


def get_current_placement_group() -> PlacementGroup | None:
    """The group the running task or actor was scheduled into (None outside one, and in a
    driver), e.g. to place more work in it explicitly. Never blocks."""
    running = context.current_execution.get()
    placement = running.placement if running is not None else None
    if placement is None:
        return None
    return PlacementGroup(str(placement["placement_group"]), placement.get("bundles") or [])


def placement_group_table(placement_group: PlacementGroup | None = None) -> dict[str, Any]:
    """Every group as Ray shows it, ``{id: row}``, or the row of ``placement_group`` alone
    (ValueError if there is no such group). A row has Ray's keys: ``placement_group_id``,
    ``name``, ``bundles`` and ``bundles_to_node_id`` (by bundle index; ``""`` for a bundle
    not placed yet; a removed group keeps where its bundles were), ``strategy``, ``state``
    (``PENDING``, ``CREATED``, ``RESCHEDULING``, ``REMOVED``; and ``FAILED``, ours: its
    nodes left before it was placed) and ``stats``; ``error`` says why a group ended.
    Blocks briefly (a request to the node or head)."""
    rows = context.current_runtime().request("placement_group_table")
    table = {}
    for row in rows:
        row["bundles"] = dict(enumerate(row["bundles"]))
        row["bundles_to_node_id"] = dict(enumerate(row["bundles_to_node_id"]))
        table[row["placement_group_id"]] = row
    if placement_group is None:
        return table
    if str(placement_group.id) not in table:
        raise ValueError(f"no placement group {placement_group.id}")
    return dict(table[str(placement_group.id)])
