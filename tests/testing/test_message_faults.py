"""Message faults reach every process of a real runtime, and the runtime copes where it
promises to: duplicated and reordered actor calls still run once each, in order; with reliable
links, every kind of message may be lost, doubled or overtaken."""

from __future__ import annotations

import os

import pytest

import actorium
from actorium.exceptions import GetTimeoutError
from actorium.testing import delay, drop, duplicate, inject_faults, reorder


@actorium.remote
class Tally:
    def __init__(self) -> None:
        self.seen: list[int] = []

    def add(self, n: int) -> int:
        self.seen.append(n)
        return len(self.seen)

    def log(self) -> list[int]:
        return self.seen


@actorium.remote
def square(x: int) -> int:
    return x * x


def test_no_plan_means_the_send_path_is_untouched(runtime):
    from actorium._core.context import current_runtime

    assert "send" not in vars(current_runtime().outbox)


def test_faults_must_be_planned_before_init(runtime):
    with pytest.raises(RuntimeError, match="before actorium.init"), \
            inject_faults(drop("results")):
        pass


def test_duplicated_calls_and_results_still_run_once_each_in_order(faulty):
    faulty(duplicate("actor_calls", 0.3), duplicate("results", 0.3), seed=1)
    tally = Tally.remote()
    counts = actorium.get([tally.add.remote(n) for n in range(300)], timeout=60)
    assert counts == list(range(1, 301))
    assert actorium.get(tally.log.remote(), timeout=60) == list(range(300))


def test_reordered_and_delayed_calls_start_in_submission_order(faulty):
    faulty(reorder("actor_calls", 0.3), delay("actor_calls", 0.2,
                                                          seconds=(0.001, 0.02)), seed=2)
    tally = Tally.remote()
    refs = [tally.add.remote(n) for n in range(200)]
    assert actorium.get(refs, timeout=60) == list(range(1, 201))
    assert actorium.get(tally.log.remote(), timeout=60) == list(range(200))


def test_tasks_complete_under_delayed_and_duplicated_messages(faulty):
    faulty(delay("tasks", 0.5, seconds=(0.001, 0.02)),
                       duplicate("results", 0.25), seed=3)
    assert actorium.get([square.remote(i) for i in range(100)], timeout=60) == \
        [i * i for i in range(100)]


def test_a_dropped_result_is_lost_and_a_timeout_is_the_callers_only_defence(faulty):
    # The transport is reliable, so actorium never resends a lost message by itself: this is
    # what a test of a caller's timeout handling looks like.
    faulty(drop("results", nth=2, roles=("worker",)))
    tally = Tally.remote()
    assert actorium.get(tally.add.remote(0), timeout=60) == 1
    lost = tally.add.remote(1)
    with pytest.raises(GetTimeoutError):
        actorium.get(lost, timeout=0.5)
    assert actorium.get(tally.add.remote(2), timeout=60) == 3   # the call itself did run


# Ray's chaos figure, on every kind: a quarter of all requests and of all replies lost, and
# more of them doubled and overtaken.
LOSSY = (drop("requests", 0.25), drop("replies", 0.25), duplicate("requests", 0.1),
         duplicate("replies", 0.1), reorder("requests", 0.1, within=0.02),
         reorder("replies", 0.1, within=0.02))


def test_with_reliable_links_lost_doubled_and_overtaken_messages_are_made_good(faulty):
    faulty(*LOSSY, seed=4, reliable=True, num_cpus=2)
    tally = Tally.remote()
    counts = actorium.get([tally.add.remote(n) for n in range(200)], timeout=120)
    assert counts == list(range(1, 201))                     # each call ran once
    assert actorium.get(tally.log.remote(), timeout=60) == list(range(200))   # in order
    assert actorium.get([square.remote(i) for i in range(100)], timeout=120) == \
        [i * i for i in range(100)]
    named = Tally.options(name="named").remote()             # requests to the node, answered
    assert actorium.get_actor("named") is not None
    assert actorium.get(named.add.remote(7), timeout=60) == 1


def test_reliable_links_can_be_turned_on_without_a_fault_plan(no_runtime, start_runtime,
                                                              monkeypatch):
    from actorium._core.context import current_runtime

    monkeypatch.setenv("ACTORIUM_RELIABLE_LINKS", "1")
    start_runtime(num_cpus=1)
    assert "links" in vars(current_runtime().outbox)
    tally = Tally.remote()
    assert actorium.get([tally.add.remote(n) for n in range(20)], timeout=60) == \
        list(range(1, 21))
    assert actorium.get(square.remote(3), timeout=60) == 9


def test_the_plan_reaches_the_workers_environment(faulty):
    faulty(drop("results", nth=10**9), seed=5)

    @actorium.remote
    def plan_seen() -> str:
        return os.environ.get("ACTORIUM_FAULTS", "")

    assert '"seed": 5' in actorium.get(plan_seen.remote(), timeout=60)
    assert "ACTORIUM_FAULTS" not in os.environ   # restored in the test process


USER_TEST = '''
import actorium
from actorium.testing import duplicate

pytest_plugins = ["actorium.testing.fixtures"]


@actorium.remote
class Counter:
    def __init__(self):
        self.n = 0

    def incr(self):
        self.n += 1
        return self.n


def test_counter_counts_each_call_once(faulty_runtime):
    faulty_runtime(duplicate("actor_calls", 0.5), seed=1, num_cpus=1)
    counter = Counter.remote()
    assert actorium.get([counter.incr.remote() for _ in range(50)]) == list(range(1, 51))
'''


def test_users_get_a_pytest_fixture_that_starts_a_faulty_runtime(no_runtime, tmp_path):
    import subprocess
    import sys

    (tmp_path / "test_user.py").write_text(USER_TEST)
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           str(tmp_path / "test_user.py")], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout
