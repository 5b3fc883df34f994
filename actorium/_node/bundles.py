"""A node's share of placement groups: the bundles reserved here, and (alone) the groups.

Reserving bundle ``i`` of group ``G`` takes its resources out of the node's free pool and adds
them back under the group's names (``CPU_group_i_G``, see ``_core.resources``); releasing does
the reverse and kills the actors that were scheduled into the group, as Ray does. Work that
asks for a bundle then queues, fits and is placed like any other work.

A node of a cluster only reserves and releases, when the head says so. A node on its own (an
embedded runtime) also keeps the groups themselves, with the same ``PlacementGroups`` the head
uses, over a single node: itself.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from actorium._core.resources import bundle_resources
from actorium._head.placement import NodeRoom, PlacementGroups

if TYPE_CHECKING:
    from actorium._node.node import Node


class NodeBundles:
    """Bundles reserved on this node, by group id (hex)."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.reserved: dict[str, list[tuple[int, dict[str, float]]]] = {}
        self._groups: PlacementGroups | None = None
        # In a cluster the head answers the group verbs (the node passes them on).
        node.verbs.update({
            "reserve_bundles": self.reserve,
            "release_bundles": self.release,
            "create_placement_group": lambda *a: self.groups.create(*a),
            "wait_placement_group": lambda group_id: self.groups.wait(group_id),
            "remove_placement_group": lambda group_id: self.groups.remove(group_id),
            "placement_group_table": lambda: self.groups.table(),
            "get_placement_group": lambda name: self.groups.find(name),
        })

    @property
    def groups(self) -> PlacementGroups:
        """The groups of a lone node (created on first use, on the node's loop)."""
        if self._groups is None:
            self._groups = PlacementGroups(nodes=self._rooms, reserve=self._reserve_here,
                                           release=self._release_here)
        return self._groups

    def _rooms(self) -> list[NodeRoom]:
        pool = self.node.resources
        return [NodeRoom(self.node.node_id.hex(), pool.total, pool.available)]

    async def _reserve_here(self, _node_id: str, group: str, pairs: list[list[Any]]) -> bool:
        await asyncio.sleep(0)
        return self.reserve(group, pairs) is not None

    def _release_here(self, _node_id: str, group: str, indices: list[int] | None) -> None:
        self.release(group, indices)

    def reserve(self, group: str, pairs: list[list[Any]]) -> dict[str, float] | None:
        """Reserve bundles ``[[index, bundle], ...]`` of ``group`` if they fit now, all or
        none (more may be added later, e.g. a dead node's); returns the node's new totals
        (None: no room, or a bundle of that index is already here)."""
        pool = self.node.resources
        held = self.reserved.get(group, [])
        if {i for i, _ in held} & {int(i) for i, _ in pairs}:
            return None
        whole: dict[str, float] = {}
        for _index, bundle in pairs:
            for name, amount in bundle.items():
                whole[name] = whole.get(name, 0.0) + float(amount)
        if not pool.fits(whole):
            return None
        pool.acquire(whole)
        for index, bundle in pairs:
            pool.add(bundle_resources(group, int(index), bundle))
        self.reserved[group] = held + [(int(index), dict(bundle)) for index, bundle in pairs]
        self._resources_changed()
        return dict(pool.total)

    def release(self, group: str, indices: list[int] | None = None) -> dict[str, float]:
        """Give back bundles ``indices`` of ``group`` (None: all of them here), kill the
        actors placed in them and stop the tasks running in them."""
        pool = self.node.resources
        held = self.reserved.pop(group, [])
        going = [(i, b) for i, b in held if indices is None or i in indices]
        staying = [(i, b) for i, b in held if (i, b) not in going]
        if staying:
            self.reserved[group] = staying
        if going:
            for index, bundle in going:
                pool.release(bundle)
                pool.shrink(bundle_resources(group, index, bundle))
            released = None if not staying else [i for i, _ in going]
            for actor_id in self.node.actors.in_placement_group(group, released):
                self.node.actors.kill(actor_id, no_restart=True)
            self.node.tasks.placement_group_removed(group, released,
                                                    f"its placement group {group} was removed")
            self._resources_changed()
        return dict(pool.total)

    def _resources_changed(self) -> None:
        self.node.actors.resources_freed()
        self.node.tasks.schedule_soon()

    def close(self) -> None:
        if self._groups is not None:
            self._groups.close()
