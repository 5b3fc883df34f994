"""An actor created by a task outlives the task, as in Ray: it shares the fate of the worker
process that created it (it dies if that process dies), and a worker that owns live actors
is not stopped for being idle. Before, a task worker started beyond the pool (while other
tasks were blocked in ``get()``) was retired once idle and took the actors it had created
with it ("the worker that created it retired")."""

from __future__ import annotations

import pytest
from polling import eventually

import actorium
from actorium.util.state import list_actors, list_tasks
from compat.gate import Gate

pytestmark = pytest.mark.usefixtures("runtime")


@actorium.remote
class Box:
    def __init__(self, value):
        self.value = value

    def get(self):
        return self.value


@actorium.remote
def make_box_once_open(gate, value):
    actorium.get(gate.wait.remote())   # blocked: the node starts more workers meanwhile
    box = Box.remote(value)
    actorium.get(box.get.remote())
    return box


def test_actors_created_by_tasks_on_extra_workers_outlive_the_tasks():
    gate = Gate.remote()
    refs = [make_box_once_open.remote(gate, n) for n in range(6)]
    eventually(lambda: sum(row["state"] == "RUNNING" and row["name"] == "make_box_once_open"
                           for row in list_tasks()) == 6, timeout=120)
    actorium.get(gate.open.remote())
    boxes = actorium.get(refs, timeout=120)
    eventually(lambda: not any(row["name"] == "make_box_once_open" for row in list_tasks()),
               timeout=60)
    # Another round of tasks: the node has long handled the first round's end by then.
    gate = Gate.remote()
    more = [make_box_once_open.remote(gate, n) for n in range(6, 8)]
    actorium.get(gate.open.remote())
    boxes += actorium.get(more, timeout=120)
    assert actorium.get([box.get.remote() for box in boxes], timeout=60) == list(range(8))
    ids = {box.actor_id for box in boxes}
    states = {row["actor_id"]: row["state"] for row in list_actors()}
    assert all(states.get(actor_id) == "ALIVE" for actor_id in ids)
    for box in boxes:
        actorium.kill(box)
