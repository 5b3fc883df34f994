"""The promises of docs/fault-tolerance.md, checked under injected faults.

Actors and tasks append every call they run to a ledger file, so a test sees what ran, and how
often, whatever the caller was told. The hardest moment to die is chosen with ``kill_sender``:
as a worker sends a result (the call ran, its answer is lost with the process) or just after
(the caller has the answer, the process is gone).

Each test was checked to fail when its promise is broken, by breaking the runtime once
locally (not committed):

=================================================  =========================================
promise (docs/fault-tolerance.md)                  break it catches
=================================================  =========================================
at-most-once: a lost call fails, never runs twice  ``_core/calls.py``: keep every call's frames
  (``test_at_most_once_...``)                      and resend with ``max_task_retries=0``
                                                   -> "a call ran twice"
at-least-once: every call completes, in order      ``ActorState.may_resend`` always False ->
  (``test_at_least_once_every_call_...``)          ``ActorDiedError`` "is restarting"
at-least-once: when the restarts run out, every    ``_core/calls.py`` ACTOR_DIED (not restarting)
  pending call fails, none hangs                   fails no in-flight call -> the get hangs
  (``test_at_least_once_calls_pending_...``)       (per-test timeout)
a task whose worker died runs again, at most       ``_node/task_scheduler.py`` counts a retry
  ``max_retries`` times, then WorkerCrashedError   twice -> ran [7, 7], not [7, 7, 7]
  (``test_a_task_whose_worker_dies_...``)
an actor restarts within ``max_restarts``, fresh,  ``ActorManager._may_restart`` with ``<=``
  then dies saying "N/N restarts used"             -> "is restarting" instead of "1/1 restarts
  (``test_an_actor_restarts_fresh_...``)           used"
a checkpoint is saved before its call's result     ``_core/mailbox.py`` writes the checkpoint
  leaves (``test_a_caller_holding_a_result_...``)  after sending the result -> 3, not 4
a value whose owner died is lost: ObjectLostError  ``_core/values.py`` keeps the owner's
  (``test_a_value_whose_owner_...``)               pending objects -> the get hangs
an actor dies with the actor that created it       ``ActorManager`` does not reap a restarting
  (``test_an_actor_created_by_an_actor_...``)      actor's children -> the child answers on
a supervisor restarts the children its strategy    ``_supervision/policy.affected`` treats
  names, on a wire that loses a quarter of all     one_for_one as rest_for_one -> [False,
  messages (``test_a_supervisor_restarts_...``)    True, True], not [False, True, False]
a supervisor past its intensity gives up, its      ``RestartHistory.next_restart`` with ``>``
  children dead (``test_a_supervisor_past_...``)   for ``>=`` -> restarted, "running"
=================================================  =========================================

Elsewhere under injection: duplicated and reordered calls run once each, in submission order
(``test_message_faults.py``), and with reliable links every kind of message may be lost,
doubled or overtaken (there, and ``test_links.py`` for the link layer alone: handing on a
duplicate, or a message ahead of a gap, fails them); results lost with a worker of another
node or with a killed node are run again (``test_forwarded_results.py``,
``test_kill_node.py``); the head dies at a chosen moment and is off the call path
(``test_head_faults.py``); all of it at once on two nodes (``test_soak.py``). Back-off,
restart types and ``kill()`` are tested without injection in ``tests/supervision/`` (they are
decisions the node makes about a death, not about how it happened).
"""

from __future__ import annotations

import time
import uuid

import pytest

import actorium
from actorium.exceptions import ActorDiedError, ObjectLostError, WorkerCrashedError
from actorium.testing import drop, duplicate, kill_actor_worker, kill_sender, reorder


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


@actorium.remote(max_retries=2)
def task_step(path: str, index: int) -> int:
    with open(path, "a") as ledger:
        ledger.write(f"{index}\n")
    return index


def test_a_task_whose_worker_dies_runs_max_retries_more_times_then_fails_worker_crashed(
        faulty, tmp_path):
    # Every worker dies as it sends its first result: no run of the task can succeed.
    faulty(kill_sender("results", nth=1), num_cpus=1)
    with pytest.raises(WorkerCrashedError, match="SIGKILL"):
        actorium.get(task_step.remote(str(tmp_path / "l"), 7), timeout=120)
    assert _ran(tmp_path / "l") == [7, 7, 7]   # the first run and exactly its 2 retries


class Counter:
    def __init__(self) -> None:
        self.count = 0

    def incr(self) -> int:
        self.count += 1
        return self.count


class SavedCounter(Counter):
    def __actorium_checkpoint__(self) -> dict[str, int]:
        return {"count": self.count}

    def __actorium_restore__(self, state: dict[str, int]) -> None:
        self.count = state["count"]


def test_an_actor_restarts_fresh_within_max_restarts_then_dies_saying_so(faulty):
    # Each incarnation's process dies as it sends its second result.
    faulty(kill_sender("results", nth=2), num_cpus=2)
    actor = actorium.remote(num_cpus=1, max_restarts=1, restart_backoff=(0.01, 0.05))(
        Counter).remote()
    assert actorium.get(actor.incr.remote(), timeout=120) == 1
    with pytest.raises(ActorDiedError):
        actorium.get(actor.incr.remote(), timeout=120)   # its result died with the process
    # Restarted: __init__ ran again, the count starts over; then the second death is final.
    outcomes = []
    for _ in range(2):
        try:
            outcomes.append(actorium.get(actor.incr.remote(), timeout=120))
        except ActorDiedError as error:
            outcomes.append(str(error))
    assert outcomes[0] == 1, outcomes
    assert "1/1 restarts used" in outcomes[1], outcomes
    with pytest.raises(ActorDiedError, match="1/1 restarts used"):
        actorium.get(actor.incr.remote(), timeout=120)


def test_at_least_once_calls_pending_when_restarts_run_out_all_fail_none_hangs(faulty):
    # Every incarnation's process dies as it sends its second result, so the restarts run out
    # with calls still pending.
    faulty(kill_sender("results", nth=2), num_cpus=2)
    actor = actorium.remote(num_cpus=1, max_restarts=2, max_task_retries=-1,
                            restart_backoff=(0.01, 0.05))(Counter).remote()
    refs = [actor.incr.remote() for _ in range(10)]
    outcomes: list[int | str] = []
    for ref in refs:
        try:
            outcomes.append(actorium.get(ref, timeout=120))   # a hang fails here
        except ActorDiedError as error:
            outcomes.append(str(error))
    answered = [o for o in outcomes if isinstance(o, int)]
    failed = outcomes[len(answered):]   # once the actor is dead, every later call fails
    assert failed, outcomes
    assert all(isinstance(o, str) and "2/2 restarts used" in o for o in failed), outcomes


def test_a_caller_holding_a_result_knows_the_checkpoint_includes_its_call(faulty):
    # The worker dies just *after* sending its third result: the caller has it, and the
    # restarted incarnation must resume from a checkpoint that includes that call.
    faulty(kill_sender("results", nth=3, after=True), num_cpus=2)
    actor = actorium.remote(num_cpus=1, max_restarts=1, checkpoint_every=1,
                            restart_backoff=(0.01, 0.05))(SavedCounter).remote()
    assert [actorium.get(actor.incr.remote(), timeout=120) for _ in range(3)] == [1, 2, 3]
    deadline = time.monotonic() + 120
    while True:   # calls that reached the dying incarnation fail (at most once)
        try:
            after = actorium.get(actor.incr.remote(), timeout=120)
            break
        except ActorDiedError:
            assert time.monotonic() < deadline, "the actor never came back"
    assert after == 4, "the restarted actor lost a call whose result its caller had"


class Maker:
    """Owns values it puts, and actors it creates."""

    def put(self, value: int) -> list[actorium.ObjectRef]:
        return [actorium.put(value)]   # in a list: the ref travels, the value stays here

    def child(self) -> actorium.actor.ActorHandle:
        return actorium.remote(Counter).remote()


def test_a_value_whose_owner_was_killed_is_lost_and_says_so(faulty):
    faulty(num_cpus=2)
    maker = actorium.remote(num_cpus=1)(Maker).remote()
    [ref] = actorium.get(maker.put.remote(b"x" * 200_000), timeout=120)   # not inlined
    kill_actor_worker(maker)
    with pytest.raises(ObjectLostError, match="owner"):
        actorium.get(ref, timeout=30)   # a hang fails with GetTimeoutError


def test_an_actor_created_by_an_actor_whose_process_was_killed_dies_with_it(faulty):
    faulty(num_cpus=2)
    parent = actorium.remote(num_cpus=1, max_restarts=1)(Maker).remote()
    child = actorium.get(parent.child.remote(), timeout=120)
    assert actorium.get(child.incr.remote(), timeout=120) == 1
    kill_actor_worker(parent)
    with pytest.raises(ActorDiedError, match="that created it died"):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:   # calls sent before the news arrived may answer
            actorium.get(child.incr.remote(), timeout=30)


# ---------------------------------------------------------------- supervisors, on a lossy wire
# A quarter of all requests and replies lost, more doubled and overtaken, under reliable links:
# the supervisor's decisions about a killed child's process must be the same as on a clean one.
LOSSY = (drop("requests", 0.25), drop("replies", 0.25), duplicate("requests", 0.1),
         duplicate("replies", 0.1), reorder("requests", 0.1, within=0.02),
         reorder("replies", 0.1, within=0.02))


class Child:
    """A new token means a new incarnation."""

    def __init__(self) -> None:
        self.token = uuid.uuid4().hex

    def ident(self) -> str:
        return self.token


def _idents(children) -> list[str]:
    """Each child's token; a call that met a restart (at most once: it failed) is made again."""
    for _ in range(200):
        try:
            return actorium.get([child.ident.remote() for child in children], timeout=120)
        except ActorDiedError as error:
            if "gave up" in str(error):
                raise
            time.sleep(0.05)
    raise AssertionError("the children never answered")


# Under losses and a loaded machine, creating and restarting dedicated actors takes a while.
@pytest.mark.timeout(240)
@pytest.mark.parametrize(("strategy", "restarted"), [
    ("one_for_one", [False, True, False]),
    ("rest_for_one", [False, True, True]),
])
def test_a_supervisor_restarts_the_children_its_strategy_names_when_one_is_killed(
        faulty, strategy, restarted):
    faulty(*LOSSY, seed=6, reliable=True, num_cpus=3)
    dedicated = actorium.remote(num_cpus=1)(Child)   # one process each: a kill hits one child
    with actorium.Supervisor(strategy=strategy, max_restarts=3, within=60,
                             backoff=(0.01, 0.05)) as sup:
        children = [sup.start(dedicated) for _ in range(3)]
        before = _idents(children)
        kill_actor_worker(children[1])
        after = _idents(children)
        while after[1] == before[1]:   # a call may answer before the death is known
            time.sleep(0.05)
            after = _idents(children)
        assert [b != a for b, a in zip(before, after, strict=True)] == restarted
        assert sup.status().restarts == 1


@pytest.mark.timeout(240)
def test_a_supervisor_past_its_intensity_gives_up_and_its_children_are_dead(faulty):
    faulty(*LOSSY, seed=7, reliable=True, num_cpus=2)
    sup = actorium.Supervisor(max_restarts=0, within=60)
    child = sup.start(actorium.remote(num_cpus=1)(Child))
    _idents([child])
    kill_actor_worker(child)
    status = sup.wait(timeout=40)
    assert status.state == "failed", status
    assert "more than 0 restart(s) within 60 s" in status.reason
    with pytest.raises(ActorDiedError, match="gave up"):
        actorium.get(child.ident.remote(), timeout=120)
