"""``kill(handle, no_restart=False)`` and ``get_if_exists=True`` as in Ray 2.60 (each case run
side by side in the Ray virtualenv).

A kill without ``no_restart`` is a crash the actor may be restarted from: it uses one of the
actor's ``max_restarts``, the new incarnation runs ``__init__`` again and reports
``was_current_actor_reconstructed``; with no restarts left the actor is dead.
``get_if_exists=True`` returns the live actor of that name in that namespace, whatever the
constructor arguments, options or even class of the second request; a dead actor's name is
taken anew."""

from __future__ import annotations

import pytest

import actorium
from actorium.exceptions import ActorDiedError

pytestmark = pytest.mark.usefixtures("runtime")


@actorium.remote
class Counter:
    def __init__(self, start=0):
        self.value = start

    def add(self, n=1):
        self.value += n
        return self.value

    def state(self):
        context = actorium.get_runtime_context()
        return self.value, context.was_current_actor_reconstructed


@actorium.remote
class Other:
    def state(self):
        return "other", False


def test_a_kill_without_no_restart_restarts_the_actor_from_its_constructor():
    counter = Counter.options(max_restarts=1).remote(5)
    assert actorium.get(counter.add.remote(2)) == 7
    actorium.kill(counter, no_restart=False)
    # Calls made after kill() returned wait for the new incarnation: none fails.
    assert actorium.get(counter.state.remote(), timeout=60) == (5, True)


def test_each_kill_without_no_restart_uses_one_of_max_restarts():
    counter = Counter.options(max_restarts=1).remote()
    actorium.get(counter.add.remote())
    actorium.kill(counter, no_restart=False)
    assert actorium.get(counter.state.remote(), timeout=60) == (0, True)
    actorium.kill(counter, no_restart=False)   # no restart left: the actor is dead
    with pytest.raises(ActorDiedError):
        actorium.get(counter.state.remote(), timeout=60)


def test_a_kill_without_no_restart_ends_an_actor_without_restarts():
    counter = Counter.remote()
    actorium.get(counter.add.remote())
    actorium.kill(counter, no_restart=False)
    with pytest.raises(ActorDiedError):
        actorium.get(counter.state.remote(), timeout=60)


def test_an_actor_with_unlimited_restarts_comes_back_after_every_kill():
    counter = Counter.options(max_restarts=-1).remote(1)
    for _ in range(3):
        actorium.get(counter.add.remote())
        actorium.kill(counter, no_restart=False)
        assert actorium.get(counter.state.remote(), timeout=60) == (1, True)
    actorium.kill(counter)


def test_get_if_exists_ignores_the_second_requests_arguments_and_options():
    first = Counter.options(name="gie-args", get_if_exists=True).remote(1)
    second = Counter.options(name="gie-args", get_if_exists=True, max_restarts=3,
                             num_cpus=1).remote(2)
    assert second == first
    assert actorium.get(second.state.remote()) == (1, False)
    actorium.kill(first)


def test_get_if_exists_with_another_class_returns_the_existing_actor():
    first = Counter.options(name="gie-class", get_if_exists=True).remote(3)
    second = Other.options(name="gie-class", get_if_exists=True).remote()
    assert second == first
    assert actorium.get(second.state.remote()) == (3, False)  # Counter.state ran
    actorium.kill(first)


def test_get_if_exists_is_per_namespace():
    here = Counter.options(name="gie-ns", get_if_exists=True).remote(1)
    there = Counter.options(name="gie-ns", namespace="gie-other", get_if_exists=True).remote(2)
    assert here != there
    assert actorium.get([here.state.remote(), there.state.remote()]) == [(1, False), (2, False)]
    actorium.kill(here)
    actorium.kill(there)


def test_get_if_exists_creates_a_new_actor_once_the_named_one_is_dead():
    first = Counter.options(name="gie-dead", get_if_exists=True).remote(1)
    actorium.get(first.state.remote())
    actorium.kill(first)
    second = Counter.options(name="gie-dead", get_if_exists=True).remote(2)
    assert second != first
    assert actorium.get(second.state.remote(), timeout=60) == (2, False)
    actorium.kill(second)


def test_without_get_if_exists_a_taken_name_is_refused():
    first = Counter.options(name="gie-taken").remote()
    with pytest.raises(ValueError, match="gie-taken"):
        Counter.options(name="gie-taken").remote()
    actorium.kill(first)


@actorium.remote
def add_to_shared(start):
    counter = Counter.options(name="gie-shared", get_if_exists=True).remote(start)
    return actorium.get(counter.add.remote(1))


def test_tasks_racing_with_get_if_exists_share_one_actor():
    results = actorium.get([add_to_shared.remote(100) for _ in range(6)], timeout=120)
    assert sorted(results) == [101, 102, 103, 104, 105, 106]  # one actor took every call
    actorium.kill(actorium.get_actor("gie-shared"))


@actorium.remote
class AsyncCaller:
    async def add_to_named(self, name):
        counter = Counter.options(name=name, get_if_exists=True).remote(10)
        return await counter.add.remote(1)


def test_get_if_exists_from_a_running_event_loop_returns_the_existing_actor():
    first = Counter.options(name="gie-async", get_if_exists=True).remote(10)
    actorium.get(first.add.remote(1))
    caller = AsyncCaller.remote()
    assert actorium.get(caller.add_to_named.remote("gie-async"), timeout=60) == 12
    assert actorium.get(first.state.remote()) == (12, False)
    actorium.kill(first)
