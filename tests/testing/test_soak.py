"""Chaos soak: a ledger workload on a two-node cluster under injected message faults and
seeded random kills.

The workload: tasks with retries spread over both nodes, each task's ref passed on to a task
on the other node; an at-most-once actor on the head node; an at-least-once actor on the
other node; an at-least-once child of a supervisor. Everything that runs appends to a ledger
file, so the test sees what ran and how often, whatever the caller was told.

The faults: a quarter of all requests and a quarter of all replies (Ray's chaos figure) of
every process, the head service's included, are delayed, sent twice or let overtaken;
``Chaos`` SIGKILLs random task and host workers of both nodes. Messages are never dropped:
the transport is reliable and nothing resends a lost message, so a drop is a hang by design,
not a fault to survive (a worker killed with its messages is the loss the runtime handles).

Then: every acknowledged call was applied, none twice where at-most-once is promised, order
kept per caller, and no process, session directory or shared-memory segment of either node
left behind. ``SOAK_SECONDS`` sets the length (short in the suite; ``make soak`` runs a long
one and prints its figures), ``SOAK_SEED`` the seed, ``SOAK_KILL`` the workers killed.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable

import pytest
from cluster_helpers import local_cluster
from conftest import assert_nothing_left

import actorium
from actorium.exceptions import ActorDiedError
from actorium.testing import Chaos, delay, duplicate, inject_faults, reorder
from actorium.util import state
from actorium.util.scheduling_strategies import NodeAffinitySchedulingStrategy

SECONDS = float(os.environ.get("SOAK_SECONDS", "8"))
SEED = int(os.environ.get("SOAK_SEED", "1"))
CHAOS_KINDS = tuple(os.environ.get("SOAK_KILL", "task,host").split(","))

# The other node's workers cannot import this test module: its code travels by value.
actorium.cloudpickle.register_pickle_by_value(sys.modules[__name__])

pytestmark = [pytest.mark.multiprocess, pytest.mark.slow,
              pytest.mark.timeout(max(300, int(SECONDS * 4) + 300))]


# A quarter of all requests and a quarter of all replies arrive late; actor calls are also
# sent twice and overtaken (they carry sequence numbers: the runtime promises to run each once,
# in order). The transport (TCP, IPC) never duplicates nor reorders one sender's messages, and
# the runtime relies on that order elsewhere (a task's code travels with its first
# submission, a supervisor is created before its first child): those faults would test a
# network actorium does not run on.
FAULTS = [delay("requests", 0.25, seconds=(0.001, 0.02)),
          delay("replies", 0.25, seconds=(0.001, 0.02)),
          duplicate("actor_calls", 0.10), reorder("actor_calls", 0.05, within=0.02)]


class Ledger:
    def __init__(self, path: str) -> None:
        self.path = path

    def step(self, index: int) -> int:
        time.sleep(0.002)   # keeps calls in flight when a kill lands
        with open(self.path, "a") as ledger:
            ledger.write(f"{index}\n")
        return index


@actorium.remote(max_retries=-1)
def record(path: str, index: int) -> int:
    return Ledger(path).step(index)


@actorium.remote(max_retries=-1)
def passed_on(value: int) -> int:
    """Gets a task's ref (resolved by the runtime, from its owner the driver)."""
    return value


def _ran(path) -> list[int]:
    return [int(line) for line in path.read_text().split()] if path.exists() else []


def _in_order(ran: list[int]) -> bool:
    """Calls in submission order, counting each at its first run (a replay after a restart
    may repeat calls the dead incarnation had run, never overtake an older one)."""
    first_seen = list(dict.fromkeys(ran))
    return first_seen == sorted(first_seen)


def _on(node_id: str, soft: bool = False) -> NodeAffinitySchedulingStrategy:
    return NodeAffinitySchedulingStrategy(node_id=node_id, soft=soft)


def _session_leftovers(names: set[str]) -> Callable[[], list[str]]:
    """What is left of the cluster's sessions: their dirs in the session root, their
    object stores in /dev/shm (``names`` are the session dir names)."""
    def check() -> list[str]:
        left = []
        for root in (os.path.join("/tmp", f"actorium-{os.getuid()}"), "/dev/shm"):
            try:
                entries = os.listdir(root)
            except FileNotFoundError:
                continue
            left += [os.path.join(root, e) for e in entries if any(n in e for n in names)]
        return left
    return check


def test_nothing_acknowledged_is_lost_or_doubled_under_chaos(tmp_path, no_runtime):
    ledgers = {name: tmp_path / name for name in ("tasks", "most", "least", "supervised")}
    with inject_faults(*FAULTS, seed=SEED), \
            local_cluster(str(tmp_path / "cluster"), [{"num_cpus": 2}, {"num_cpus": 2}]):
        actorium.init(address="auto")
        try:
            sessions = {os.path.basename(row["session_dir"].rstrip("/"))
                        for row in state.list_nodes() if row.get("session_dir")}
            figures = _workload(ledgers)
        finally:
            actorium.shutdown()
    # The suite's leak guard: every process the cluster started is gone (they carry its
    # marker in their environment), and so are both nodes' session dirs and segments.
    assert_nothing_left()
    assert _session_leftovers(sessions)() == []
    print(f"\nsoak ({SECONDS:.0f} s, seed {SEED}, two nodes, 25 % of requests and 25 % of "
          f"replies broken, killing {','.join(CHAOS_KINDS)} workers): {figures}")


def _workload(ledgers) -> str:
    rows = state.list_nodes()
    head = next(row["node_id"] for row in rows if row["is_head"])
    other = next(row["node_id"] for row in rows if not row["is_head"])
    backoff = (0.01, 0.05)
    at_most = actorium.remote(max_restarts=-1, restart_backoff=backoff)(Ledger).options(
        scheduling_strategy=_on(head)).remote(str(ledgers["most"]))
    at_least = actorium.remote(max_restarts=-1, max_task_retries=-1, restart_backoff=backoff)(
        Ledger).options(scheduling_strategy=_on(other)).remote(str(ledgers["least"]))
    tasks, passed, mosts, leasts, supervised_calls = [], [], [], [], []
    with actorium.Supervisor(strategy="one_for_one", max_restarts=10_000, within=1.0,
                             backoff=backoff) as supervisor:
        child = supervisor.start(actorium.remote(max_task_retries=-1)(Ledger),
                                 str(ledgers["supervised"]))
        started = time.monotonic()
        with Chaos(seed=SEED, every=(0.3, 0.8), kinds=CHAOS_KINDS) as chaos:
            while time.monotonic() - started < SECONDS:
                n = len(tasks)
                where, there = (head, other) if n % 2 else (other, head)
                task = record.options(scheduling_strategy=_on(where, soft=True)).remote(
                    str(ledgers["tasks"]), n)
                tasks.append(task)
                passed.append(passed_on.options(
                    scheduling_strategy=_on(there, soft=True)).remote(task))
                mosts.append(at_most.step.remote(n))
                leasts.append(at_least.step.remote(n))
                supervised_calls.append(child.step.remote(n))
                if n % 20 == 19:
                    time.sleep(0.02)
        everything = list(range(len(tasks)))
        assert actorium.get(tasks, timeout=300) == everything
        assert actorium.get(passed, timeout=300) == everything
        assert actorium.get(leasts, timeout=300) == everything
        assert actorium.get(supervised_calls, timeout=300) == everything
        acknowledged = []
        for index, ref in enumerate(mosts):
            try:
                assert actorium.get(ref, timeout=300) == index
                acknowledged.append(index)
            except ActorDiedError:
                pass   # at most once: lost with an incarnation, and said so
        restarts = [state.get_actor(a.actor_id)["restarts"]
                    for a in (at_most, at_least, child)]
    ran = {name: _ran(path) for name, path in ledgers.items()}
    # Every acknowledged call applied; at-least-once: every call.
    assert set(ran["tasks"]) == set(everything)
    assert set(ran["least"]) == set(everything)
    assert set(ran["supervised"]) == set(everything)
    assert set(acknowledged) <= set(ran["most"])
    # None applied twice where at-most-once is promised; order per caller everywhere.
    assert len(ran["most"]) == len(set(ran["most"])), "an at-most-once call ran twice"
    assert ran["most"] == sorted(ran["most"]), "at-most-once calls ran out of order"
    assert _in_order(ran["least"]), "at-least-once calls ran out of order"
    assert _in_order(ran["supervised"]), "a supervised actor's calls ran out of order"
    kills = [k.kind for k in chaos.kills]
    return (f"{len(tasks)} tasks (+{len(passed)} that got their refs), {len(tasks)} calls to "
            f"each of 3 actors, {len(acknowledged)}/{len(mosts)} at-most-once calls "
            f"acknowledged; {len(kills)} kills ({kills.count('host')} host, "
            f"{kills.count('task')} task); restarts (at-most, at-least, supervised) {restarts}; re-run: "
            f"tasks {len(ran['tasks']) - len(set(ran['tasks']))}, at-least-once calls "
            f"{len(ran['least']) - len(everything)}, supervised "
            f"{len(ran['supervised']) - len(everything)}")
