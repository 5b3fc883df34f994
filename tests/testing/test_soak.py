"""Chaos soak: a ledger workload on a two-node cluster under injected message faults and
seeded random kills.

The workload: tasks with retries spread over both nodes, each task's ref passed on to a task
on the other node; an at-most-once actor on the head node; an at-least-once actor on the
other node; an at-least-once child of a supervisor. Everything that runs appends to a ledger
file, so the test sees what ran and how often, whatever the caller was told.

The faults: a quarter of all requests and a quarter of all replies (Ray's chaos figure) of
every process, the head service's included, are lost; more are sent twice, overtaken and
delayed; reliable links resend, de-duplicate and re-order beneath the runtime. ``Chaos``
SIGKILLs random task and host workers of both nodes: the losses no link undoes.

Then: every acknowledged call was applied, none twice where at-most-once is promised, order
kept per caller, and no process, session directory or shared-memory segment of either node
left behind. ``SOAK_SECONDS`` sets the length (short in the suite; ``make soak`` runs a long
one and prints its figures), ``SOAK_SEED`` the seed, ``SOAK_KILL`` the workers killed.
"""

from __future__ import annotations

import os
import sys
import time

import pytest
from cluster_helpers import daemons, local_cluster
from conftest import assert_nothing_left
from polling import eventually

import actorium
from actorium.exceptions import ActorDiedError
from actorium.testing import Chaos, delay, drop, duplicate, inject_faults, reorder
from actorium.util import state
from actorium.util.scheduling_strategies import NodeAffinitySchedulingStrategy

SECONDS = float(os.environ.get("SOAK_SECONDS", "8"))
SEED = int(os.environ.get("SOAK_SEED", "1"))
CHAOS_KINDS = tuple(os.environ.get("SOAK_KILL", "task,host").split(","))

# The other node's workers cannot import this test module: its code travels by value.
actorium.cloudpickle.register_pickle_by_value(sys.modules[__name__])

pytestmark = [pytest.mark.multiprocess, pytest.mark.slow,
              pytest.mark.timeout(max(900, int(SECONDS * 4) + 900))]


# Ray's chaos figure on every kind of message of every process, the head service's included:
# a quarter of all requests and a quarter of all replies lost, more of them doubled, overtaken
# and late. Reliable links (``reliable=True``) must make every loss good; the kills are losses
# no link can undo (a process dies with its state), which the runtime's retries, restarts and
# resends cover.
FAULTS = [drop("requests", 0.25), drop("replies", 0.25),
          duplicate("requests", 0.10), duplicate("replies", 0.10),
          reorder("requests", 0.05, within=0.02), reorder("replies", 0.05, within=0.02),
          delay("requests", 0.25, seconds=(0.001, 0.02)),
          delay("replies", 0.25, seconds=(0.001, 0.02))]


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


def _leftovers(session_dirs: list[str]) -> list[str]:
    """What is left of the cluster's sessions: their dirs, and their object stores in
    /dev/shm (named after the session)."""
    left = [path for path in session_dirs if os.path.exists(path)]
    names = [os.path.basename(path.rstrip("/")) for path in session_dirs]
    try:
        segments = os.listdir("/dev/shm")
    except FileNotFoundError:
        segments = []
    return left + [f"/dev/shm/{s}" for s in segments if any(n in s for n in names)]


def test_nothing_acknowledged_is_lost_or_doubled_under_chaos(tmp_path, no_runtime):
    ledgers = {name: tmp_path / name for name in ("tasks", "most", "least", "supervised")}
    cluster = str(tmp_path / "cluster")
    with inject_faults(*FAULTS, seed=SEED, reliable=True), \
            local_cluster(cluster, [{"num_cpus": 2}, {"num_cpus": 2}]):
        sessions = [daemon["session_dir"] for daemon in daemons(cluster)]
        assert len(sessions) == 2
        actorium.init(address="auto")
        try:
            figures = _workload(ledgers)
        finally:
            actorium.shutdown()
    # The suite's leak guard: every process the cluster started is gone (they carry its
    # marker in their environment), and so are both nodes' session dirs and segments.
    assert_nothing_left()
    assert _leftovers(sessions) == []
    print(f"\nsoak ({SECONDS:.0f} s, seed {SEED}, two nodes, 25 % of requests and 25 % of "
          f"replies lost, 10 % doubled, 5 % overtaken, 25 % late, killing "
          f"{','.join(CHAOS_KINDS)} workers): {figures}")


def _all_complete(what: str, refs: list, actors: dict, chaos: Chaos) -> None:
    """Fail, saying what is stuck, if some of ``refs`` never complete."""
    _, stuck = actorium.wait(refs, num_returns=len(refs), timeout=240)
    if stuck:
        where = {ref.binary(): index for index, ref in enumerate(refs)}
        indexes = sorted(where[ref.binary()] for ref in stuck)
        states = {name: (row or {}).get("state") for name, actor in actors.items()
                  for row in [state.get_actor(actor.actor_id)]}
        pytest.fail(f"{len(stuck)} of {len(refs)} {what} never completed (#{indexes[:20]}..., "
                    f"{sum(i % 2 == 0 for i in indexes)} of them sent to the other node); "
                    f"actors: {states}; kills: {chaos.kills}")


@actorium.remote
class Probe:
    def ping(self) -> bool:
        return True


def _places_actors(node_id: str) -> bool:
    """True once the driver's node places an actor on ``node_id``: a node listed by the head
    may not be in the driver's node's view of the cluster yet (its news can be late)."""
    probe = Probe.options(scheduling_strategy=_on(node_id)).remote()
    try:
        return bool(actorium.get(probe.ping.remote(), timeout=60))
    except ActorDiedError:
        return False
    finally:
        actorium.kill(probe)


_BACKLOG = 200


def _both_nodes_alive() -> list[dict]:
    rows = state.list_nodes()
    return rows if len(rows) == 2 and all(row["state"] == "ALIVE" for row in rows) else []


def _workload(ledgers) -> str:
    # Both nodes alive in the head's view (a heartbeat late behind lost messages can mark a
    # node suspect for a moment right after the start).
    rows = eventually(_both_nodes_alive, timeout=60, every=0.5)
    head = next(row["node_id"] for row in rows if row["is_head"])
    other = next(row["node_id"] for row in rows if not row["is_head"])
    eventually(lambda: _places_actors(other), timeout=60, every=0.5)
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
                    # At most _BACKLOG calls of each kind in flight: under losses the cluster
                    # runs slower than the loop submits, and the drain after it would grow.
                    if n + 1 >= _BACKLOG + 20:
                        behind = slice(n + 1 - _BACKLOG - 20, n + 1 - _BACKLOG)
                        waited = [*tasks[behind], *leasts[behind], *supervised_calls[behind]]
                        actorium.wait(waited, num_returns=len(waited), timeout=120)
        everything = list(range(len(tasks)))
        actors = {"at-most-once": at_most, "at-least-once": at_least, "supervised": child}
        for what, refs in (("tasks", tasks), ("tasks given refs", passed),
                           ("at-least-once calls", leasts),
                           ("supervised calls", supervised_calls)):
            _all_complete(what, refs, actors, chaos)
            assert actorium.get(refs, timeout=60) == everything, what
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
            f"{kills.count('task')} task); restarts (at-most, at-least, supervised) "
            f"{restarts}; re-run: tasks {len(ran['tasks']) - len(set(ran['tasks']))}, "
            f"at-least-once calls {len(ran['least']) - len(everything)}, supervised "
            f"{len(ran['supervised']) - len(everything)}")
