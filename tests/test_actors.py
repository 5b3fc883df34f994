"""Actors: state, call order, handles, names and namespaces, method options, kill, restart."""

from __future__ import annotations

import os
import time

import pytest

import actorium
from actorium.exceptions import ActorDiedError

pytestmark = pytest.mark.usefixtures("runtime")


@actorium.remote
class Counter:
    def __init__(self, start=0):
        self.value = start

    def increment(self, by=1):
        self.value += by
        return self.value

    def read(self):
        return self.value

    def pid(self):
        return os.getpid()

    def sleep(self, seconds):
        time.sleep(seconds)
        return seconds


@actorium.remote
class Ledger:
    def __init__(self):
        self.entries = []

    def record(self, entry):
        self.entries.append(entry)
        return len(self.entries)

    def read(self):
        return self.entries


@actorium.remote
class Pairs:
    @actorium.method(num_returns=2)
    def split(self, a, b):
        return a, b

    def triple(self):
        return 1, 2, 3

    @actorium.method                     # bare, as @ray.method: the method's defaults
    def swap(self, a, b):
        return self.split(b, a)          # decorated methods stay plain calls inside



@actorium.remote
class Forwarder:
    """Holds another actor's handle and calls it from inside its own methods."""

    def __init__(self, target):
        self.target = target

    def forward(self, amount):
        return actorium.get(self.target.increment.remote(amount))


@actorium.remote
class Spawner:
    def spawn_and_use(self):
        child = Counter.remote(10)
        return actorium.get(child.increment.remote(5))


@actorium.remote
def increment_through(handle, by):
    return actorium.get(handle.increment.remote(by))


@actorium.remote
def find_and_read(name, namespace=None):
    return actorium.get(actorium.get_actor(name, namespace=namespace).read.remote())


# ---------------------------------------------------------------------- state and order
def test_an_actor_keeps_its_state_between_calls():
    counter = Counter.remote()
    assert actorium.get(counter.increment.remote()) == 1
    assert actorium.get(counter.increment.remote()) == 2
    assert actorium.get(counter.increment.remote(by=10)) == 12
    assert actorium.get(counter.read.remote()) == 12


def test_constructor_arguments_reach_the_actor():
    assert actorium.get(Counter.remote(41).increment.remote()) == 42
    assert actorium.get(Counter.remote(start=7).read.remote()) == 7


def test_actors_do_not_share_state():
    first, second = Counter.remote(), Counter.remote()
    actorium.get([first.increment.remote(5), second.increment.remote(1)])
    assert actorium.get([first.read.remote(), second.read.remote()]) == [5, 1]


@pytest.mark.timeout(60)
def test_a_sync_actor_runs_a_thousand_calls_in_submission_order():
    ledger = Ledger.remote()
    refs = [ledger.record.remote(i) for i in range(1000)]
    assert actorium.get(refs, timeout=45) == list(range(1, 1001))
    assert actorium.get(ledger.read.remote()) == list(range(1000))


def test_calls_made_before_the_actor_is_ready_run_after_its_constructor():
    counter = Counter.remote(100)
    refs = [counter.increment.remote() for _ in range(5)]
    assert actorium.get(refs) == [101, 102, 103, 104, 105]


def test_actors_run_in_worker_processes():
    assert actorium.get(Counter.remote().pid.remote()) != os.getpid()


def test_a_handle_has_an_id_and_compares_by_actor():
    counter = Counter.remote()
    assert isinstance(counter, actorium.ActorHandle)
    assert isinstance(counter.actor_id, str) and counter.actor_id
    assert counter == counter
    assert counter != Counter.remote()
    assert hash(counter) == hash(counter)


# ---------------------------------------------------------------------- handles travel
def test_a_handle_passed_to_a_task_reaches_the_same_actor():
    counter = Counter.remote()
    assert actorium.get(increment_through.remote(counter, 3), timeout=30) == 3
    assert actorium.get(counter.read.remote()) == 3


def test_a_handle_passed_to_another_actor_reaches_the_same_actor():
    counter = Counter.remote()
    forwarder = Forwarder.remote(counter)
    assert actorium.get(forwarder.forward.remote(4), timeout=30) == 4
    assert actorium.get(forwarder.forward.remote(1), timeout=30) == 5
    assert actorium.get(counter.read.remote()) == 5


def test_an_actor_can_create_an_actor_and_call_it():
    assert actorium.get(Spawner.remote().spawn_and_use.remote(), timeout=30) == 15


def test_a_ref_passed_to_an_actor_method_is_resolved():
    counter = Counter.remote()
    assert actorium.get(counter.increment.remote(actorium.put(6))) == 6
    assert actorium.get(counter.increment.remote(counter.read.remote())) == 12


def test_handles_travel_inside_containers():
    counters = [Counter.remote(i) for i in range(3)]

    @actorium.remote
    def read_all(handles):
        return actorium.get([h.read.remote() for h in handles["all"]])

    assert actorium.get(read_all.remote({"all": counters}), timeout=30) == [0, 1, 2]


# ---------------------------------------------------------------------- method options
def test_method_decorator_num_returns_two_gives_two_refs():
    left, right = Pairs.remote().split.remote("L", "R")
    assert actorium.get(left) == "L"
    assert actorium.get(right) == "R"


def test_a_bare_method_decorator_keeps_the_method_and_its_defaults():
    pairs = Pairs.remote()
    assert actorium.get(pairs.swap.remote("L", "R")) == ("R", "L")
    with pytest.raises(TypeError, match="decorates a method"):
        actorium.method(3)


def test_method_options_num_returns_overrides_at_call_time():
    pairs = Pairs.remote()
    refs = pairs.triple.options(num_returns=3).remote()
    assert len(refs) == 3
    assert actorium.get(refs) == [1, 2, 3]
    assert actorium.get(pairs.triple.remote()) == (1, 2, 3)


def test_method_options_reject_unknown_options():
    with pytest.raises(ValueError, match="bogus"):
        Pairs.remote().triple.options(bogus=1)


def test_calling_a_method_the_actor_does_not_have_names_it():
    counter = Counter.remote()
    with pytest.raises(AttributeError, match="decrement"):
        counter.decrement.remote()


# ---------------------------------------------------------------------- names
def test_a_named_actor_is_found_by_get_actor():
    counter = Counter.options(name="named-counter").remote(3)
    found = actorium.get_actor("named-counter")
    assert found == counter
    assert actorium.get(found.increment.remote()) == 4
    assert actorium.get(counter.read.remote()) == 4
    actorium.kill(counter)


def test_a_named_actor_is_found_from_inside_a_task():
    counter = Counter.options(name="visible-to-tasks").remote(9)
    assert actorium.get(find_and_read.remote("visible-to-tasks"), timeout=30) == 9
    actorium.kill(counter)


def test_get_actor_of_an_unknown_name_is_a_value_error():
    with pytest.raises(ValueError, match="nobody-has-this-name"):
        actorium.get_actor("nobody-has-this-name")


def test_get_actor_rejects_an_empty_name():
    with pytest.raises(ValueError):
        actorium.get_actor("")


def test_a_second_actor_with_the_same_name_is_a_value_error():
    first = Counter.options(name="unique-name").remote()
    with pytest.raises(ValueError, match="unique-name"):
        Counter.options(name="unique-name").remote()
    assert actorium.get(first.increment.remote()) == 1  # the first is unharmed
    actorium.kill(first)


def test_get_if_exists_returns_the_existing_actor():
    first = Counter.options(name="shared-counter", get_if_exists=True).remote(50)
    second = Counter.options(name="shared-counter", get_if_exists=True).remote(0)
    assert second == first
    actorium.get(second.increment.remote())
    assert actorium.get(first.read.remote()) == 51
    actorium.kill(first)


def test_names_are_scoped_by_namespace():
    in_a = Counter.options(name="same-name", namespace="team-a").remote(1)
    in_b = Counter.options(name="same-name", namespace="team-b").remote(2)
    assert actorium.get(actorium.get_actor("same-name", namespace="team-a").read.remote()) == 1
    assert actorium.get(actorium.get_actor("same-name", namespace="team-b").read.remote()) == 2
    with pytest.raises(ValueError):
        actorium.get_actor("same-name")  # not in the driver's namespace ("default")
    assert actorium.get(find_and_read.remote("same-name", "team-b"), timeout=30) == 2
    actorium.kill(in_a)
    actorium.kill(in_b)


def test_a_killed_named_actor_frees_its_name():
    counter = Counter.options(name="reusable").remote()
    actorium.get(counter.read.remote())
    actorium.kill(counter)
    deadline = time.monotonic() + 10
    while True:
        try:
            actorium.get_actor("reusable")
        except ValueError:
            break
        assert time.monotonic() < deadline, "the name of a killed actor was never freed"
        time.sleep(0.05)
    replacement = Counter.options(name="reusable").remote(5)
    assert actorium.get(replacement.read.remote()) == 5
    actorium.kill(replacement)


# ---------------------------------------------------------------------- kill and restart
@pytest.mark.timeout(30)
def test_kill_fails_the_running_and_pending_calls_with_actor_died_error():
    counter = Counter.remote()
    actorium.get(counter.read.remote())
    running = counter.sleep.remote(10)
    pending = [counter.increment.remote() for _ in range(3)]
    time.sleep(0.2)
    actorium.kill(counter)
    started = time.monotonic()
    for ref in [running, *pending]:
        with pytest.raises(ActorDiedError):
            actorium.get(ref, timeout=10)
    assert time.monotonic() - started < 5


def test_calls_after_kill_fail_with_actor_died_error():
    counter = Counter.remote()
    actorium.get(counter.increment.remote())
    actorium.kill(counter)
    with pytest.raises(ActorDiedError, match="kill"):
        actorium.get(counter.increment.remote(), timeout=10)
    with pytest.raises(ActorDiedError):
        actorium.get(counter.read.remote(), timeout=10)


def test_kill_rejects_something_that_is_not_a_handle():
    with pytest.raises(TypeError):
        actorium.kill("not a handle")


def test_kill_without_no_restart_restarts_an_actor_that_has_restarts_left():
    counter = Counter.options(max_restarts=1).remote(0)
    assert actorium.get(counter.increment.remote(5)) == 5
    actorium.kill(counter, no_restart=False)
    deadline = time.monotonic() + 15
    while True:  # calls racing the restart may fail; the actor must come back
        try:
            value = actorium.get(counter.read.remote(), timeout=10)
            break
        except ActorDiedError:
            assert time.monotonic() < deadline, "the actor did not come back"
            time.sleep(0.05)
    assert value == 0  # state was reset by the restart: the constructor ran again
    assert actorium.get(counter.increment.remote()) == 1


def test_kill_with_no_restart_ends_even_an_actor_with_restarts_left():
    counter = Counter.options(max_restarts=3).remote()
    actorium.get(counter.read.remote())
    actorium.kill(counter)
    time.sleep(0.2)
    with pytest.raises(ActorDiedError):
        actorium.get(counter.read.remote(), timeout=10)


def test_killing_one_actor_leaves_the_others_working():
    doomed, survivor = Counter.remote(), Counter.remote()
    actorium.get([doomed.read.remote(), survivor.read.remote()])
    actorium.kill(doomed)
    assert actorium.get(survivor.increment.remote(), timeout=10) == 1
