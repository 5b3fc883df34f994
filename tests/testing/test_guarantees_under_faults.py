"""The delivery promises of docs/fault-tolerance.md, checked under injected faults.

Each actor appends every call it runs to a ledger file, so the test sees what ran, and how
often, whatever the caller was told. A worker is killed exactly as it sends a result
(``kill_sender``): the call ran, its answer is lost with the process, the hardest case for
both promises.
"""

from __future__ import annotations

import actorium
from actorium.exceptions import ActorDiedError
from actorium.testing import kill_sender


class Ledger:
    def __init__(self, path: str) -> None:
        self.path = path

    def step(self, index: int) -> int:
        with open(self.path, "a") as ledger:
            ledger.write(f"{index}\n")
        return index


def _ran(path) -> list[int]:
    return [int(line) for line in path.read_text().split()] if path.exists() else []


def test_at_most_once_a_call_whose_result_was_lost_fails_and_never_runs_twice(faulty,
                                                                               tmp_path):
    faulty(kill_sender("results", nth=3), num_cpus=2)
    actor = actorium.remote(num_cpus=1, max_restarts=1)(Ledger).remote(str(tmp_path / "l"))
    refs = [actor.step.remote(i) for i in range(12)]
    outcomes = []
    for index, ref in enumerate(refs):
        try:
            outcomes.append(actorium.get(ref, timeout=120))
            assert outcomes[-1] == index
        except ActorDiedError:
            outcomes.append(None)
    ran = _ran(tmp_path / "l")
    assert len(ran) == len(set(ran)), f"a call ran twice: {ran}"
    assert None in outcomes, "the injected kill did not hit"
    assert all(index in ran for index, got in enumerate(outcomes) if got is not None)
    assert ran == sorted(ran)   # per-caller order, also across the restart


def test_at_least_once_every_call_completes_in_order_across_kills(faulty, tmp_path):
    faulty(kill_sender("results", nth=4), num_cpus=2)
    actor = actorium.remote(num_cpus=1, max_restarts=-1, max_task_retries=-1,
                            restart_backoff=(0.01, 0.05))(Ledger).remote(str(tmp_path / "l"))
    refs = [actor.step.remote(i) for i in range(15)]
    assert actorium.get(refs, timeout=120) == list(range(15))
    ran = _ran(tmp_path / "l")
    assert set(ran) == set(range(15))
    assert len(ran) > 15, "the injected kills did not hit"
    # Order: within each incarnation the calls ran in submission order.
    first_seen = [i for n, i in enumerate(ran) if i not in ran[:n]]
    assert first_seen == list(range(15))
