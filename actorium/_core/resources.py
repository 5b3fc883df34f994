"""Resource accounting of a node: totals, what is free, and whether a demand fits.

Placement groups reuse this accounting, as Ray does: reserving bundle ``i`` of group ``G`` on a
node moves its amounts out of the node's free resources into new resources named
``CPU_group_i_G`` (that bundle) and ``CPU_group_G`` (any bundle of ``G`` on this node), plus a
marker ``bundle_group_i_G`` so that work reserving nothing still lands on the bundle's node.
Work scheduled into the group asks for those names instead of ``CPU``, so the ordinary queue,
feasibility checks and cluster placement send it where its bundle lives.
"""

from __future__ import annotations

from typing import Any

# What work in a bundle asks of the bundle marker (whose total per bundle is BUNDLE_MARKER).
BUNDLE_MARKER = 1000.0
_MARKER_SHARE = 0.001


def group_resource(name: str, group: str, index: int = -1) -> str:
    """The name under which ``name`` reserved in a bundle of placement group ``group`` is
    accounted (``index`` -1: any bundle of the group on the node)."""
    return f"{name}_group_{group}" if index < 0 else f"{name}_group_{index}_{group}"


def bundle_resources(group: str, index: int, bundle: dict[str, float]) -> dict[str, float]:
    """The resources a node gains when it reserves bundle ``index`` of ``group``."""
    gained: dict[str, float] = {}
    for name, amount in {**bundle, "bundle": BUNDLE_MARKER}.items():
        gained[group_resource(name, group, index)] = float(amount)
        gained[group_resource(name, group)] = float(amount)
    return gained


def demand_of(options: dict[str, Any]) -> dict[str, float]:
    """The resources a task or actor asks for, from its wire options."""
    demand = plain_demand(options)
    strategy = options.get("strategy")
    if isinstance(strategy, dict) and strategy.get("placement_group"):
        group, index = str(strategy["placement_group"]), int(strategy.get("bundle", -1))
        demand["bundle"] = _MARKER_SHARE
        # A bundle's work also takes from the group-wide name, so that work for "any bundle"
        # and work for a given one never use more than the bundles hold together.
        translated = {group_resource(name, group): amount for name, amount in demand.items()}
        if index >= 0:
            translated.update({group_resource(name, group, index): amount
                               for name, amount in demand.items()})
        demand = translated
    return demand


def in_bundles(options: dict[str, Any], group: str, bundles: list[int] | None) -> bool:
    """Was the work with these wire options scheduled into ``group`` (into one of its
    ``bundles``, if given; None: any bundle of it)?"""
    strategy = options.get("strategy")
    return isinstance(strategy, dict) and strategy.get("placement_group") == group \
        and (bundles is None or strategy.get("bundle", -1) in bundles)


def plain_demand(options: dict[str, Any]) -> dict[str, float]:
    """What the work asks for under the plain names (``CPU``, ``GPU``...), bundle or not:
    what ``get_assigned_resources()`` shows, as in Ray."""
    demand: dict[str, float] = {}
    cpus = options.get("num_cpus") or 0.0
    if cpus:
        demand["CPU"] = float(cpus)
    gpus = options.get("num_gpus") or 0.0
    if gpus:
        demand["GPU"] = float(gpus)
    memory = options.get("memory") or 0.0
    if memory:   # Ray's logical memory resource, in bytes
        demand["memory"] = float(memory)
    for name, amount in (options.get("resources") or {}).items():
        if amount:
            demand[name] = float(amount)
    return demand


class ResourcePool:
    """Totals and availability; acquisitions may only happen when ``fits`` says so."""

    def __init__(self, total: dict[str, float]) -> None:
        self.total = {name: float(amount) for name, amount in total.items()}
        self.available = dict(self.total)

    def feasible(self, demand: dict[str, float]) -> bool:
        """Could this demand ever be met on this node?"""
        return all(self.total.get(name, 0.0) >= amount for name, amount in demand.items())

    def fits(self, demand: dict[str, float]) -> bool:
        available = self.available
        return all(available.get(name, 0.0) >= amount - 1e-9 for name, amount in demand.items())

    def acquire(self, demand: dict[str, float]) -> None:
        for name, amount in demand.items():
            self.available[name] = self.available.get(name, 0.0) - amount

    def release(self, demand: dict[str, float]) -> None:
        for name, amount in demand.items():
            self.available[name] = min(self.total.get(name, 0.0),
                                       self.available.get(name, 0.0) + amount)

    def add(self, gained: dict[str, float]) -> None:
        """New resources (a reserved bundle's), free at once; amounts add up by name."""
        for name, amount in gained.items():
            self.total[name] = self.total.get(name, 0.0) + amount
            self.available[name] = self.available.get(name, 0.0) + amount

    def shrink(self, lost: dict[str, float]) -> None:
        """Take away resources (a released bundle's); names left with nothing are forgotten,
        and work still holding them gives nothing back."""
        for name, amount in lost.items():
            left = self.total.get(name, 0.0) - amount
            if left <= 1e-9:
                self.total.pop(name, None)
                self.available.pop(name, None)
            else:
                self.total[name] = left
                self.available[name] = self.available.get(name, 0.0) - amount

    def describe(self, demand: dict[str, float]) -> str:
        return ", ".join(f"{name}={amount:g} (node has {self.total.get(name, 0.0):g})"
                         for name, amount in demand.items()) or "nothing"
