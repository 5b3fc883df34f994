"""Testing actor code under faults: lost, late, doubled and reordered messages, killed and
paused processes, all repeatable from a seed (see docs/testing.md).

    from actorium.testing import inject_faults, drop, kill_actor_worker

    with inject_faults(drop("replies", 0.25), seed=7):
        actorium.init()
        ...                     # a quarter of all replies are lost
        actorium.shutdown()

Modules: ``faults`` (message faults, applied by every process of the runtime), ``processes``
(kill or pause a chosen process), ``nodes`` (kill or pause a whole node, the head included),
``chaos`` (random kills from a seed), ``simulation`` (the whole runtime in this process on a
virtual clock: ``simulate()``), ``fixtures`` (pytest).
"""

from actorium._faults.plan import FaultPlan, MessageFault
from actorium.testing.chaos import Chaos, Kill
from actorium.testing.faults import (
    delay,
    drop,
    duplicate,
    inject_faults,
    kill_sender,
    reorder,
)
from actorium.testing.nodes import kill_node, node_pid, pause_node
from actorium.testing.processes import (
    actor_pid,
    kill_actor_worker,
    kill_process,
    pause,
    worker_pids,
)
from actorium.testing.simulation import Simulation, simulate

__all__ = [
    "Chaos",
    "FaultPlan",
    "Kill",
    "MessageFault",
    "Simulation",
    "actor_pid",
    "delay",
    "drop",
    "duplicate",
    "inject_faults",
    "kill_actor_worker",
    "kill_node",
    "kill_process",
    "kill_sender",
    "node_pid",
    "pause",
    "pause_node",
    "reorder",
    "simulate",
    "worker_pids",
]
