"""Scheduling strategies with Ray's names: pass one as ``scheduling_strategy=``."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["NodeAffinitySchedulingStrategy"]


@dataclass(frozen=True)
class NodeAffinitySchedulingStrategy:
    """Run on the node ``node_id`` (hex, as ``get_runtime_context().get_node_id()`` gives).

    With ``soft=False`` the task fails with a ValueError naming the node if it is not alive;
    with ``soft=True`` it runs elsewhere instead.
    """

    node_id: str
    soft: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.node_id, str) or not self.node_id:
            raise ValueError(f"node_id must be a node id in hex, got {self.node_id!r}")
