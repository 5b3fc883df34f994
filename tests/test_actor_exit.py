"""An actor ending itself: ``exit_actor()`` and ``sys.exit()`` in a method, with Ray's outcomes.

Checked against Ray 2.60 side by side (2026-12-02): the call that exits fails with
``ActorDiedError`` and so does every later call; ``exit_actor()`` and ``sys.exit(0)`` are never
restarted, ``sys.exit(<error code>)`` is a crash and is restarted while ``max_restarts`` lasts.
"""

from __future__ import annotations

import os
import sys
import time

import pytest

import actorium as ray
from actorium.exceptions import ActorDiedError, WorkerCrashedError

pytestmark = pytest.mark.usefixtures("runtime")


@ray.remote(max_restarts=2)
class Leaver:
    def __init__(self) -> None:
        self.calls = 0

    def count(self) -> int:
        self.calls += 1
        return self.calls

    def leave(self, marker: str) -> str:
        ray.actor.exit_actor()
        with open(marker, "w") as after:    # never reached: exit_actor() raises
            after.write("ran on")
        return "returned"

    def leave_inside_try(self) -> str:
        try:
            ray.exit_actor()
        except Exception:                    # exit_actor() is not an Exception: not caught
            return "swallowed"
        return "returned"

    def quit(self, code: int | None) -> None:
        sys.exit(code)


@ray.remote
class AsyncLeaver:
    async def count(self) -> int:
        return 1

    async def leave(self) -> str:
        ray.exit_actor()
        return "returned"


def test_the_exiting_call_fails_and_the_rest_of_the_method_does_not_run(tmp_path):
    actor = Leaver.remote()
    marker = tmp_path / "after-exit"
    with pytest.raises(ActorDiedError, match="exit_actor"):
        ray.get(actor.leave.remote(str(marker)), timeout=30)
    assert not marker.exists()


def test_an_actor_that_exited_is_not_restarted_though_it_has_restarts():
    actor = Leaver.remote()
    assert ray.get(actor.count.remote(), timeout=30) == 1
    with pytest.raises(ActorDiedError):
        ray.get(actor.leave_inside_try.remote(), timeout=30)
    for _ in range(3):
        with pytest.raises(ActorDiedError, match="exit_actor"):
            ray.get(actor.count.remote(), timeout=30)


def test_exit_actor_in_an_async_actor():
    actor = AsyncLeaver.remote()
    assert ray.get(actor.count.remote(), timeout=30) == 1
    with pytest.raises(ActorDiedError, match="exit_actor"):
        ray.get(actor.leave.remote(), timeout=30)
    with pytest.raises(ActorDiedError):
        ray.get(actor.count.remote(), timeout=30)


@pytest.mark.parametrize("code", [None, 0])
def test_sys_exit_without_an_error_code_ends_the_actor_for_good(code):
    actor = Leaver.remote()
    with pytest.raises(ActorDiedError, match=r"sys\.exit"):
        ray.get(actor.quit.remote(code), timeout=30)
    with pytest.raises(ActorDiedError, match=r"sys\.exit"):
        ray.get(actor.count.remote(), timeout=30)


def test_sys_exit_with_an_error_code_is_a_crash_and_restarts_the_actor():
    actor = Leaver.remote()
    assert ray.get([actor.count.remote(), actor.count.remote()], timeout=30) == [1, 2]
    for _ in range(2):                       # max_restarts=2
        with pytest.raises(ActorDiedError, match=r"sys\.exit\(3\)"):
            ray.get(actor.quit.remote(3), timeout=30)
        assert _first_call_after_restart(actor) == 1   # a fresh incarnation
    with pytest.raises(ActorDiedError, match=r"sys\.exit\(3\)"):
        ray.get(actor.quit.remote(3), timeout=30)
    with pytest.raises(ActorDiedError, match=r"sys\.exit\(3\)"):   # restarts used up
        ray.get(actor.count.remote(), timeout=30)


def _first_call_after_restart(actor) -> int:
    """A call sent before the caller heard of the restart fails (max_task_retries=0; on Ray
    with ``ActorUnavailableError``); one sent after it reaches the new incarnation."""
    deadline = time.monotonic() + 20
    while True:
        try:
            return ray.get(actor.count.remote(), timeout=30)
        except ActorDiedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_other_actors_live_on_when_one_exits():
    bystanders = [Leaver.remote() for _ in range(4)]
    assert ray.get([b.count.remote() for b in bystanders], timeout=30) == [1] * 4
    leaver = Leaver.remote()
    with pytest.raises(ActorDiedError):
        ray.get(leaver.quit.remote(0), timeout=30)
    assert ray.get([b.count.remote() for b in bystanders], timeout=30) == [2] * 4


def test_exit_actor_outside_an_actor_is_a_type_error():
    with pytest.raises(TypeError, match="inside an actor"):
        ray.exit_actor()

    @ray.remote
    def task() -> None:
        ray.exit_actor()

    with pytest.raises(TypeError, match="inside an actor"):
        ray.get(task.remote(), timeout=30)


# ---------------------------------------------------------------------- tasks
@ray.remote(max_retries=0)
def quitting_task(code: int) -> None:
    sys.exit(code)


@ray.remote(max_retries=1)
def quits_once(marker: str) -> str:
    if not os.path.exists(marker):
        open(marker, "w").close()
        sys.exit(0)
    return "second try"


@pytest.mark.parametrize("code", [0, 3])
def test_sys_exit_in_a_task_ends_its_worker_and_fails_as_a_crash(code):
    with pytest.raises(WorkerCrashedError):
        ray.get(quitting_task.remote(code), timeout=60)


def test_a_task_whose_worker_exited_is_retried(tmp_path):
    assert ray.get(quits_once.remote(str(tmp_path / "tried")), timeout=60) == "second try"
