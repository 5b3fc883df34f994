"""The head's side of placement groups: the cluster's nodes as rooms, reserving by request.

``placement.PlacementGroups`` decides where bundles go; this part gives it the live nodes as
the head last heard of them and reserves bundles by asking each chosen node
(``reserve_bundles``), keeping its own record of what is free until the node's next
heartbeat. Once a group is placed every node receives the new cluster view *before* anyone is
told the group is ready, so work sent into a bundle at once finds the bundle's node.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from actorium._head.placement import NodeRoom, PlacementGroups
from actorium._transport.protocol import Kind

if TYPE_CHECKING:
    from actorium._head.service import HeadService


class ClusterGroups:
    """Placement groups over the nodes of a cluster; answers the head's group verbs."""

    def __init__(self, head: HeadService) -> None:
        self.head = head
        self.groups = PlacementGroups(nodes=self._rooms, reserve=self._reserve,
                                      release=self._release, on_created=self._share_view,
                                      on_change=self._save)
        head.verbs.update({
            "create_placement_group": self.groups.create,
            "wait_placement_group": self.groups.wait,
            "remove_placement_group": self.groups.remove,
            "remove_owned_placement_groups": self.groups.remove_owned_by,
            "placement_group_table": self.groups.table,
            "get_placement_group": self.groups.find,
        })

    def recover(self) -> None:
        """Groups saved by a previous head (after its nodes were reloaded)."""
        self.groups.restore(self.head.store.load_groups())

    def _save(self, group: Any) -> None:
        live = group.state.value in ("PENDING", "CREATED", "RESCHEDULING")
        self.head.store.save_group(group.group_id, group.saved() if live else None)

    def node_died(self, node_id: str) -> None:
        self.groups.node_died(node_id)

    def close(self) -> None:
        self.groups.close()

    def _rooms(self) -> list[NodeRoom]:
        return [NodeRoom(node_id.hex(), r["total"], r.get("available", r["total"]))
                for node_id, r in self.head.nodes.items() if r.get("alive")]

    async def _reserve(self, node_id: str, group: str, pairs: list[list[Any]]) -> bool:
        record = self.head.nodes.get(bytes.fromhex(node_id))
        if record is None or not record.get("alive"):
            return False
        total = await self.head.ask(record["address"], "reserve_bundles", group, pairs)
        if total is None:
            return False
        record["total"] = total
        # Until the node's next heartbeat says what is free, count the bundles as taken.
        free = dict(record.get("available", {}))
        for _index, bundle in pairs:
            for name, amount in bundle.items():
                free[name] = free.get(name, 0.0) - amount
        record["available"] = free
        return True

    def _release(self, node_id: str, group: str, indices: list[int] | None) -> None:
        head = self.head
        record = head.nodes.get(bytes.fromhex(node_id))
        if record is None or not record.get("alive"):
            return
        placed = self.groups.groups.get(group)
        if placed is not None:
            # Free again at once, for groups placed before the node's next heartbeat.
            free = dict(record.get("available", {}))
            for index, (bundle, holder) in enumerate(zip(placed.bundles, placed.nodes,
                                                         strict=True)):
                if holder == node_id and (indices is None or index in indices):
                    for name, amount in bundle.items():
                        free[name] = min(free.get(name, 0.0) + amount,
                                         record["total"].get(name, 0.0))
            record["available"] = free
        head.send(record["address"], [Kind.REQUEST, 0, head.address, "release_bundles",
                                      [group, indices]])

    def _share_view(self) -> None:
        self.head.broadcast([Kind.CLUSTER_VIEW, self.head.view()], relay=False)
