"""Chaos soak: a ledger workload under injected message faults and seeded random kills.

Tasks with retries, an at-least-once actor and an at-most-once actor, all recording what ran in
ledger files; random task and host workers are SIGKILLed while duplicated, delayed and reordered
messages fly. Then: every acknowledged call was applied, none twice where at-most-once is
promised, order kept per caller, and (the suite's fixture) no process or file left behind.
``SOAK_SECONDS`` sets the length (short in the suite; ``make soak`` runs a long one).
"""

from __future__ import annotations

import os
import time

import actorium
from actorium.exceptions import ActorDiedError
from actorium.testing import Chaos, delay, duplicate, reorder

SECONDS = float(os.environ.get("SOAK_SECONDS", "6"))
SEED = int(os.environ.get("SOAK_SEED", "1"))
CHAOS_KINDS = tuple(os.environ.get("SOAK_KILL", "task,host").split(","))


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


def _ran(path) -> list[int]:
    return [int(line) for line in path.read_text().split()] if path.exists() else []


def test_nothing_acknowledged_is_lost_or_doubled_under_chaos(faulty, tmp_path):
    faulty(duplicate("actor_calls", 0.2), reorder("actor_calls", 0.1),
           delay("replies", 0.2, seconds=(0.001, 0.01)), seed=SEED, num_cpus=2)
    once = actorium.remote(max_restarts=-1, restart_backoff=(0.01, 0.05))(Ledger)
    always = actorium.remote(max_restarts=-1, max_task_retries=-1,
                             restart_backoff=(0.01, 0.05))(Ledger)
    at_most = once.remote(str(tmp_path / "most"))
    at_least = always.remote(str(tmp_path / "least"))
    tasks, mosts, leasts = [], [], []
    started = time.monotonic()
    with Chaos(seed=SEED, every=(0.3, 0.8), kinds=CHAOS_KINDS) as chaos:
        while time.monotonic() - started < SECONDS:
            n = len(tasks)
            tasks.append(record.remote(str(tmp_path / "tasks"), n))
            mosts.append(at_most.step.remote(n))
            leasts.append(at_least.step.remote(n))
            if n % 20 == 19:
                time.sleep(0.02)
    assert actorium.get(tasks, timeout=300) == list(range(len(tasks)))
    assert actorium.get(leasts, timeout=300) == list(range(len(leasts)))
    acknowledged = []
    for index, ref in enumerate(mosts):
        try:
            assert actorium.get(ref, timeout=300) == index
            acknowledged.append(index)
        except ActorDiedError:
            pass
    ran_tasks, ran_most = _ran(tmp_path / "tasks"), _ran(tmp_path / "least")
    ran_once = _ran(tmp_path / "most")
    assert set(ran_tasks) == set(range(len(tasks)))
    assert set(ran_most) == set(range(len(leasts)))
    first_seen = list(dict.fromkeys(ran_most))
    assert first_seen == sorted(first_seen), "at-least-once calls ran out of order"
    assert set(acknowledged) <= set(ran_once)
    assert len(ran_once) == len(set(ran_once)), "an at-most-once call ran twice"
    assert ran_once == sorted(ran_once), "at-most-once calls ran out of order"
    from actorium.util import state
    restarts = [state.get_actor(a.actor_id)["restarts"] for a in (at_most, at_least)]
    print(f"\nsoak: restarts {restarts}, {SECONDS:.0f} s, seed {SEED}: {len(tasks)} tasks, {len(leasts)} "
          f"at-least-once and {len(mosts)} at-most-once calls ({len(acknowledged)} "
          f"acknowledged); {len(chaos.kills)} kills; tasks re-run "
          f"{len(ran_tasks) - len(set(ran_tasks))}, calls re-run "
          f"{len(ran_most) - len(set(ran_most))}; killed: {[k.kind for k in chaos.kills]}")
