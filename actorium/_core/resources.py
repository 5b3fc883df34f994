"""Resource accounting of a node: totals, what is free, and whether a demand fits."""

from __future__ import annotations

from typing import Any


def demand_of(options: dict[str, Any]) -> dict[str, float]:
    """The resources a task or actor asks for, from its wire options."""
    demand: dict[str, float] = {}
    cpus = options.get("num_cpus") or 0.0
    if cpus:
        demand["CPU"] = float(cpus)
    gpus = options.get("num_gpus") or 0.0
    if gpus:
        demand["GPU"] = float(gpus)
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

    def describe(self, demand: dict[str, float]) -> str:
        return ", ".join(f"{name}={amount:g} (node has {self.total.get(name, 0.0):g})"
                         for name, amount in demand.items()) or "nothing"
