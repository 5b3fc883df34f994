"""Delivery promises of actor calls across worker deaths (issue tests 1, 2 and 8).

* default (``max_task_retries=0``): at-most-once — a call in flight when the actor's worker dies
  fails with ``ActorDiedError`` saying why; no call ever runs twice;
* ``max_task_retries=-1``: at-least-once — every call completes, the caller sees each result
  once and in submission order, also across restarts;
* once the restarts are used up, every pending call fails with ``ActorDiedError``, none hangs.

The actor appends every index it runs to a ledger file, so a test can see what ran where.
"""

from __future__ import annotations

import os
import signal

import pytest

from actorium.exceptions import ActorDiedError

CALLS = 10_000
KILL_AT = (2_500, 5_000, 7_500)


class Ledger:
    """A sequence counter that records, in a file, every call it runs."""

    def __init__(self, path: str) -> None:
        self.file = open(path, "a")  # noqa: SIM115 - lives as long as the actor
        self.last: int | None = None

    def step(self, index: int) -> tuple[int, int, int | None]:
        self.file.write(f"{index}\n")
        self.file.flush()
        previous, self.last = self.last, index
        return os.getpid(), index, previous

    def pid(self) -> int:
        return os.getpid()


def _ledger(path) -> list[int]:
    return [int(line) for line in path.read_text().split()]


def _send_with_kills(actor, get):
    """Send CALLS calls; SIGKILL the actor's worker at each KILL_AT while calls are in flight."""
    refs = []
    for index in range(CALLS):
        if index in KILL_AT:
            # The call ~1000 back ran in the incarnation alive now; later ones are in flight.
            try:
                pid = get(refs[index - 1000], timeout=60)[0]
            except ActorDiedError:   # at-most-once: it was lost with the previous kill
                pid = get(actor.pid.remote(), timeout=60)
            os.kill(pid, signal.SIGKILL)
        refs.append(actor.step.remote(index))
    return refs


@pytest.mark.timeout(120)
def test_at_least_once_every_call_completes_in_order_across_three_kills(runtime, tmp_path):
    ledger = tmp_path / "ledger"
    actor = runtime.remote(Ledger).options(max_restarts=3, max_task_retries=-1).remote(
        str(ledger))
    refs = _send_with_kills(actor, runtime.get)
    results = runtime.get(refs, timeout=90)
    assert [index for _pid, index, _previous in results] == list(range(CALLS))
    # Within each incarnation calls ran in submission order.
    for _pid, index, previous in results:
        assert previous is None or previous < index
    assert len({pid for pid, _index, _previous in results}) == 4
    ran = _ledger(ledger)
    assert set(ran) == set(range(CALLS))          # everything ran, some perhaps twice
    print(f"at-least-once: {len(ran) - CALLS} calls ran twice")
    # The fourth kill is beyond the budget: pending and later calls fail, none hangs.
    pending = [actor.step.remote(CALLS + i) for i in range(200)]
    os.kill(results[-1][0], signal.SIGKILL)
    late = [actor.step.remote(CALLS + 200 + i) for i in range(10)]
    outcomes = []
    for ref in pending + late:
        try:
            outcomes.append(runtime.get(ref, timeout=30))
        except ActorDiedError as error:
            outcomes.append(error)
    failures = [o for o in outcomes if isinstance(o, ActorDiedError)]
    assert failures and all(isinstance(o, ActorDiedError) for o in outcomes[-10:])
    assert "SIGKILL" in str(failures[-1]) and "3/3 restarts used" in str(failures[-1])


@pytest.mark.timeout(120)
def test_at_most_once_by_default_no_call_runs_twice(runtime, tmp_path):
    ledger = tmp_path / "ledger"
    actor = runtime.remote(Ledger).options(max_restarts=3).remote(str(ledger))
    refs = _send_with_kills(actor, runtime.get)
    completed, failed = [], []
    for ref in refs:
        try:
            completed.append(runtime.get(ref, timeout=60)[1])
        except ActorDiedError as error:
            assert "restarting" in str(error) or "restarted" in str(error), str(error)
            failed.append(error)
    ran = _ledger(ledger)
    assert len(ran) == len(set(ran)), "a call ran twice"
    assert set(completed) <= set(ran)
    assert len(completed) + len(failed) == CALLS
    assert completed and failed       # some calls were in flight at a kill, most were not
    print(f"at-most-once: {len(completed)} completed, {len(failed)} failed")
