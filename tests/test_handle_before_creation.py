"""A handle may reach a process before the actor's creation reaches the node.

An actor that creates a child and returns its handle sends CREATE_ACTOR to the node and the
result to its caller on different channels; the caller then asks the node where the child
lives. If that question arrives first, the node must answer once the child is placed, not
forget the caller (whose calls then waited forever: a flaky supervision test in CI).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import actorium
from actorium.testing import delay, inject_faults


@actorium.remote
class Child:
    def ping(self) -> str:
        return "pong"


@actorium.remote
class Creator:
    def make(self, count: int) -> list:
        return [Child.remote() for _ in range(count)]


def test_a_handle_that_outruns_its_actors_creation_still_reaches_the_actor(
        no_runtime: None, start_runtime: Callable[..., Any]) -> None:
    # Every CREATE_ACTOR a worker sends is held back at the node: the creator's reply (and
    # the driver's "where is it?" question) always arrive first.
    with inject_faults(delay("CREATE_ACTOR", 1.0, seconds=(0.5, 0.5), roles=("worker",)),
                       seed=0):
        start_runtime(num_cpus=1)
    creator = Creator.remote()
    children = actorium.get(creator.make.remote(3), timeout=30)
    assert actorium.get([c.ping.remote() for c in children], timeout=30) == ["pong"] * 3


def test_a_handle_passed_on_before_its_creation_arrived_works_in_a_third_process(
        no_runtime: None, start_runtime: Callable[..., Any]) -> None:
    @actorium.remote
    def call(child: Any) -> str:
        return actorium.get(child.ping.remote(), timeout=20)

    with inject_faults(delay("CREATE_ACTOR", 1.0, seconds=(0.5, 0.5), roles=("worker",)),
                       seed=0):
        start_runtime(num_cpus=1)
    creator = Creator.remote()
    [child] = actorium.get(creator.make.remote(1), timeout=30)
    assert actorium.get(call.remote(child), timeout=30) == "pong"
