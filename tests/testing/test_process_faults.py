"""Killing and pausing chosen processes, and seeded random kills, on a real runtime."""

from __future__ import annotations

import os
import signal
import time

import pytest

import actorium
from actorium.exceptions import ActorDiedError, GetTimeoutError, WorkerCrashedError
from actorium.testing import (
    Chaos,
    actor_pid,
    kill_actor_worker,
    kill_process,
    kill_sender,
    pause,
    worker_pids,
)


@actorium.remote(num_cpus=1, max_restarts=1)
class Box:
    def __init__(self) -> None:
        self.n = 0

    def bump(self) -> int:
        self.n += 1
        return self.n

    def pid(self) -> int:
        return os.getpid()


def _wait_alive(actor, timeout=60.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            return actor_pid(actor)
        except LookupError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_killing_an_actors_worker_is_a_crash_the_actor_restarts_from(runtime):
    box = Box.remote()
    assert actorium.get(box.bump.remote(), timeout=60) == 1
    first = actorium.get(box.pid.remote(), timeout=60)
    assert actor_pid(box) == first
    assert kill_actor_worker(box) == first
    # The restarted incarnation ran __init__ again in another process.
    deadline = time.monotonic() + 60
    while True:
        try:
            assert actorium.get(box.bump.remote(), timeout=60) == 1
            break
        except ActorDiedError:   # a call in flight at the death (at-most-once)
            assert time.monotonic() < deadline
    assert actorium.get(box.pid.remote(), timeout=60) != first


def test_a_paused_actor_answers_nothing_until_it_continues(runtime):
    box = Box.remote()
    assert actorium.get(box.bump.remote(), timeout=60) == 1
    with pause(box) as pid:
        assert pid == actor_pid(box)
        stuck = box.bump.remote()
        with pytest.raises(GetTimeoutError):
            actorium.get(stuck, timeout=0.5)
    assert actorium.get(stuck, timeout=60) == 2
    actorium.kill(box)


def test_kill_process_refuses_a_pid_that_is_not_a_worker(runtime):
    with pytest.raises(ValueError, match="not a live worker"):
        kill_process(os.getpid())
    with pytest.raises(ValueError, match="unknown worker kind"):
        worker_pids("gpu")


@actorium.remote(max_retries=3)
def record(path: str, i: int) -> int:
    with open(path, "a") as ledger:
        ledger.write(f"{i}\n")
    return i


@actorium.remote(max_retries=0)
def record_once(path: str, i: int) -> int:
    with open(path, "a") as ledger:
        ledger.write(f"{i}\n")
    return i


def test_without_retries_the_killed_task_fails_with_worker_crashed(faulty, tmp_path):
    faulty(kill_sender("results", nth=1), num_cpus=1)
    with pytest.raises(WorkerCrashedError):
        actorium.get(record_once.remote(str(tmp_path / "ledger"), 0), timeout=120)


def test_chaos_kills_seeded_workers_and_retried_tasks_still_complete(runtime, tmp_path):
    ledger = tmp_path / "ledger"
    with Chaos(seed=4, every=(0.1, 0.3), kinds=("task",), max_kills=3) as chaos:
        refs = []
        deadline = time.monotonic() + 60
        while len(chaos.kills) < 3 and time.monotonic() < deadline:
            refs.append(record.options(max_retries=-1).remote(str(ledger), len(refs)))
            time.sleep(0.01)
    assert len(chaos.kills) == 3
    assert {kill.kind for kill in chaos.kills} == {"task"}
    assert actorium.get(refs, timeout=120) == list(range(len(refs)))


def test_chaos_refuses_bad_settings():
    with pytest.raises(ValueError, match="every must be"):
        Chaos(every=(0.0, 1.0))
    with pytest.raises(ValueError, match="unknown worker kind"):
        Chaos(kinds=("gpu",))


def test_a_signal_other_than_sigkill_can_be_chosen(runtime):
    box = Box.remote()
    pid = _wait_alive(box)
    kill_actor_worker(box, signal.SIGTERM)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if actorium.get(box.pid.remote(), timeout=60) != pid:
                break
        except ActorDiedError:
            pass
    else:
        pytest.fail("the actor did not come back in another process")


def test_a_worker_killed_at_each_second_result_still_completes_retried_tasks(faulty, tmp_path):
    # Every task worker dies as it sends its second result: each task after a worker's first
    # runs on that worker, is lost with it, and is retried on a fresh one (3 retries are plenty).
    faulty(kill_sender("results", nth=2), num_cpus=1)
    ledger = tmp_path / "ledger"
    refs = [record.remote(str(ledger), i) for i in range(6)]
    assert actorium.get(refs, timeout=120) == list(range(6))
    ran = [int(line) for line in ledger.read_text().split()]
    assert set(ran) == set(range(6))
    assert len(ran) > 6, "no worker was killed: the fault never fired"
