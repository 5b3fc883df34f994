"""Fate sharing: a non-detached actor dies with its creator; a detached one lives on (test 6)."""

from __future__ import annotations

import os
import signal
import textwrap
import time

import actorium
from actorium.exceptions import ActorDiedError


@actorium.remote
class Leaf:
    def ping(self) -> str:
        return "pong"


@actorium.remote
class Parent:
    def __init__(self) -> None:
        self.owned = Leaf.remote()
        self.detached = Leaf.options(lifetime="detached").remote()

    def children(self) -> tuple:
        return self.owned, self.detached

    def pid(self) -> int:
        return os.getpid()


def _dead_within(runtime, actor, seconds: float = 10.0) -> ActorDiedError:
    """kill() does not wait: calls may still reach the child for a moment, then fail."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            runtime.get(actor.ping.remote(), timeout=seconds)
        except ActorDiedError as error:
            return error
        time.sleep(0.02)
    raise AssertionError(f"{actor} still answers {seconds} s after its owner died")


def test_actors_created_by_a_killed_actor_die_with_it_unless_detached(runtime):
    parent = Parent.remote()
    owned, detached = runtime.get(parent.children.remote(), timeout=30)
    assert runtime.get([owned.ping.remote(), detached.ping.remote()], timeout=30) == [
        "pong", "pong"]
    runtime.kill(parent)
    error = _dead_within(runtime, owned)
    assert "Parent" in str(error) and "created it died" in str(error)
    assert runtime.get(detached.ping.remote(), timeout=30) == "pong"
    runtime.kill(detached)


def test_a_restarting_owner_takes_its_old_children_along(runtime):
    parent = Parent.options(max_restarts=1, num_cpus=1).remote()
    owned, _detached = runtime.get(parent.children.remote(), timeout=30)
    os.kill(runtime.get(parent.pid.remote(), timeout=30), signal.SIGKILL)
    _dead_within(runtime, owned)
    new_owned, new_detached = runtime.get(parent.children.remote(), timeout=30)
    assert runtime.get(new_owned.ping.remote(), timeout=30) == "pong"
    runtime.kill(new_detached)
    runtime.kill(_detached)


def test_driver_exit_ends_its_actors_within_seconds(run_script):
    """The embedded node lives as long as its driver: a SIGKILLed driver leaves nothing."""
    result = run_script(textwrap.dedent("""
        import os, signal, actorium, psutil
        actorium.init(num_cpus=1)

        @actorium.remote
        class A:
            def pid(self):
                return os.getpid()

        a, d = A.remote(), A.options(lifetime="detached").remote()
        pids = actorium.get([a.pid.remote(), d.pid.remote()])
        node = actorium._api._embedded.process.pid
        print(" ".join(map(str, [node, *pids])), flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """), timeout=60)
    pids = [int(p) for p in result.stdout.split()]
    assert len(pids) == 3, result.stderr
    import psutil
    gone, alive = psutil.wait_procs([psutil.Process(p) for p in pids if psutil.pid_exists(p)],
                                    timeout=15)
    assert not alive, f"still running after the driver died: {alive}"


@actorium.remote
class Manager:
    """An async actor running a supervision scope of its own."""

    async def run_scope(self) -> tuple[str, str]:
        async with actorium.Supervisor(strategy="one_for_all") as sup:
            leaf = sup.start(Leaf)
            answer = await leaf.ping.remote()
        status = await sup.wait_async()
        return answer, status.state

    def start_children(self) -> list:
        self.sup = actorium.Supervisor()
        return [self.sup.start(Leaf) for _ in range(3)]


def test_an_async_actor_uses_a_supervisor_scope_without_blocking_its_loop(runtime):
    manager = Manager.remote()
    assert runtime.get(manager.run_scope.remote(), timeout=30) == ("pong", "stopped")


def test_a_supervisor_dies_with_the_actor_that_created_it(runtime):
    manager = Manager.remote()
    children = runtime.get(manager.start_children.remote(), timeout=30)
    assert runtime.get([c.ping.remote() for c in children], timeout=30) == ["pong"] * 3
    runtime.kill(manager)
    for child in children:
        assert "created it died" in str(_dead_within(runtime, child))
