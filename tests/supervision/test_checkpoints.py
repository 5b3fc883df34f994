"""Checkpointed actors resume from their last checkpoint after their worker dies (test 7)."""

from __future__ import annotations

import os
import signal

import pytest

import actorium


class Twin:
    """A device twin whose state is a reading count and a running sum."""

    def __init__(self) -> None:
        self.count = 0
        self.total = 0.0

    def record(self, value: float) -> int:
        self.count += 1
        self.total += value
        return self.count

    def save_now(self) -> int:
        actorium.checkpoint()
        return self.count

    def state(self) -> tuple[int, float, int]:
        return self.count, self.total, os.getpid()

    def __actorium_checkpoint__(self) -> dict[str, float]:
        return {"count": self.count, "total": self.total}

    def __actorium_restore__(self, state: dict[str, float]) -> None:
        self.count = int(state["count"])
        self.total = state["total"]


def _kill_worker_and_read(runtime, twin):
    count, total, pid = runtime.get(twin.state.remote(), timeout=30)
    os.kill(pid, signal.SIGKILL)
    for _ in range(100):   # calls racing with the death fail (at-most-once); the next wait
        try:
            after = runtime.get(twin.state.remote(), timeout=30)
        except actorium.exceptions.ActorDiedError:
            continue
        if after[2] != pid:
            return after
    raise AssertionError("the twin did not come back")


def test_restarted_actor_resumes_from_the_checkpoint_every_n_calls(runtime):
    twin = runtime.remote(Twin).options(max_restarts=1, checkpoint_every=10).remote()
    for value in range(25):
        runtime.get(twin.record.remote(float(value)), timeout=30)
    count, total, _pid = _kill_worker_and_read(runtime, twin)
    assert (count, total) == (20, float(sum(range(20))))   # the checkpoint after call 20


def test_an_explicit_checkpoint_is_saved_before_its_call_returns(runtime):
    twin = runtime.remote(Twin).options(max_restarts=1, num_cpus=1).remote()
    for value in range(7):
        twin.record.remote(float(value))
    assert runtime.get(twin.save_now.remote(), timeout=30) == 7
    twin.record.remote(100.0)   # after the checkpoint: lost with the worker
    count, total, _pid = _kill_worker_and_read(runtime, twin)
    assert (count, total) == (7, float(sum(range(7))))


def test_an_actor_without_checkpoint_hooks_restarts_fresh(runtime):
    @runtime.remote(max_restarts=1)
    class Plain:
        def __init__(self) -> None:
            self.count = 0

        def bump(self) -> int:
            self.count += 1
            return self.count

        def state(self) -> tuple[int, float, int]:
            return self.count, 0.0, os.getpid()

        def save_now(self) -> None:
            actorium.checkpoint()

    plain = Plain.remote()
    runtime.get([plain.bump.remote() for _ in range(3)], timeout=30)
    with pytest.raises(TypeError, match="__actorium_checkpoint__"):
        runtime.get(plain.save_now.remote(), timeout=30)
    assert _kill_worker_and_read(runtime, plain)[0] == 0


def test_checkpoint_options_are_validated(runtime):
    with pytest.raises(ValueError, match="checkpoint_every"):
        runtime.remote(Twin).options(checkpoint_every=0)
    with pytest.raises(ValueError, match="checkpoint_interval"):
        runtime.remote(Twin).options(checkpoint_interval=-1)
