"""``memory=`` on tasks and actors is Ray's logical memory resource: the node has an amount
(``cluster_resources()["memory"]``, in bytes), work that asks for some holds it while it runs
and waits while too little is free. Written from Ray 2.60, checked side by side: a task's
memory shows in ``available_resources()`` while it runs and in ``get_assigned_resources()``;
``resources={"memory": ...}`` is refused; ``init(_memory=N)`` sizes the node."""

from __future__ import annotations

import asyncio

import pytest
from polling import eventually

import actorium

GIB = 2**30


@actorium.remote
class Gate:
    """Tasks wait here until the test opens the gate; ``entered`` counts who got in."""

    def __init__(self) -> None:
        self.opened = asyncio.Event()
        self.entered: list[str] = []

    async def enter(self, who: str) -> None:
        self.entered.append(who)
        await self.opened.wait()

    def who_entered(self) -> list[str]:
        return list(self.entered)

    def open(self) -> None:
        self.opened.set()


@actorium.remote(num_cpus=0.5)
def held(gate, who: str) -> dict[str, float]:
    actorium.get(gate.enter.remote(who))
    return actorium.get_runtime_context().get_assigned_resources()


@pytest.mark.timeout(180)
def test_memory_is_held_while_a_task_runs_and_work_waits_for_it(start_runtime):
    start_runtime(num_cpus=2, _memory=3 * GIB)
    assert actorium.cluster_resources()["memory"] == 3 * GIB
    gate = Gate.remote()
    first = held.options(memory=2 * GIB).remote(gate, "first")
    eventually(lambda: actorium.get(gate.who_entered.remote()) == ["first"], timeout=60)
    assert actorium.available_resources()["memory"] == 1 * GIB
    # CPUs are free for both; memory is not: the second waits, a small one does not.
    second = held.options(memory=2 * GIB).remote(gate, "second")
    small = held.options(memory=GIB // 2).remote(gate, "small")
    eventually(lambda: "small" in actorium.get(gate.who_entered.remote()), timeout=60)
    ready, _ = actorium.wait([second], timeout=1.0)
    assert not ready and "second" not in actorium.get(gate.who_entered.remote())
    gate.open.remote()
    assert actorium.get(first, timeout=60) == {"CPU": 0.5, "memory": 2.0 * GIB}
    assert actorium.get(second, timeout=60)["memory"] == 2.0 * GIB
    assert actorium.get(small, timeout=60)["memory"] == float(GIB // 2)
    eventually(lambda: actorium.available_resources()["memory"] == 3 * GIB, timeout=30)


@actorium.remote(memory=GIB)
class Holder:
    def assigned(self) -> dict[str, float]:
        return actorium.get_runtime_context().get_assigned_resources()


@pytest.mark.timeout(180)
def test_an_actor_holds_its_memory_until_it_dies(start_runtime):
    start_runtime(num_cpus=2, _memory=3 * GIB)
    holder = Holder.remote()
    assert actorium.get(holder.assigned.remote(), timeout=60) == {"memory": float(GIB)}
    assert actorium.available_resources()["memory"] == 2 * GIB
    bigger = Holder.options(memory=2 * GIB).remote()
    assert actorium.get(bigger.assigned.remote(), timeout=60)["memory"] == 2.0 * GIB
    assert actorium.available_resources().get("memory", 0.0) == 0.0
    actorium.kill(holder)
    eventually(lambda: actorium.available_resources().get("memory") == GIB, timeout=30)
    actorium.kill(bigger)


@pytest.mark.timeout(120)
def test_more_memory_than_the_node_has_is_an_error_naming_it(start_runtime):
    start_runtime(num_cpus=1, _memory=GIB)
    with pytest.raises(ValueError, match=r"can never run on this node.*memory="):
        actorium.get(held.options(memory=2 * GIB).remote(None, "never"), timeout=60)


def test_the_node_memory_is_what_is_available_less_the_object_store(runtime):
    with open("/proc/meminfo", encoding="ascii") as meminfo:
        total = next(int(line.split()[1]) * 1024 for line in meminfo
                     if line.startswith("MemTotal:"))
    memory = actorium.cluster_resources()["memory"]
    # Ray's sizing: available memory at start, less the object store's default (30%).
    assert 0 < memory <= 0.7 * total + 1


@pytest.mark.parametrize(("options", "message"), [
    ({"memory": -1}, "memory must be a number >= 0"),
    ({"memory": "2G"}, "memory must be a number >= 0"),
    ({"resources": {"memory": 1}}, "must not name 'memory'.*memory= option"),
    ({"resources": {"object_store_memory": 1}}, "must not name 'object_store_memory'"),
])
def test_bad_memory_requests_are_refused_where_written(options, message):
    with pytest.raises(ValueError, match=message):
        held.options(**options)


def test_init_memory_must_be_bytes_and_is_for_the_node_it_starts():
    with pytest.raises(ValueError, match="_memory must be a number of bytes"):
        actorium.init(_memory=-5)
    with pytest.raises(ValueError, match="_memory=.*sizes the node init\\(\\) starts"):
        actorium.init(address="127.0.0.1:1", _memory=GIB)
