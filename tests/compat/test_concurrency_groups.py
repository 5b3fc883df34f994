"""Concurrency groups as in Ray: ``@remote(concurrency_groups={"io": 2})`` with
``@method(concurrency_group="io")``, the default group limited by ``max_concurrency``, and
``.options(concurrency_group=...)`` on a call. Checked side by side with Ray 2.60: the peak
concurrencies asserted here are the ones Ray's actors report for the same programs."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

import actorium
from actorium.exceptions import RayTaskError

pytestmark = pytest.mark.usefixtures("runtime")


@actorium.remote(concurrency_groups={"io": 2, "compute": 4})
class AsyncGroups:
    def __init__(self):
        self.active: dict[str, int] = {}
        self.peak: dict[str, int] = {}

    async def _occupy(self, label):
        self.active[label] = self.active.get(label, 0) + 1
        self.peak[label] = max(self.peak.get(label, 0), self.active[label])
        await asyncio.sleep(0.2)
        self.active[label] -= 1

    @actorium.method(concurrency_group="io")
    async def io(self):
        await self._occupy("io")

    @actorium.method(concurrency_group="compute")
    async def compute(self):
        await self._occupy("compute")

    async def plain(self, label="default"):
        await self._occupy(label)

    async def peaks(self):
        return self.peak


@actorium.remote(concurrency_groups={"io": 2})
class ThreadedGroups:
    def __init__(self):
        self.lock = threading.Lock()
        self.active: dict[str, int] = {}
        self.peak: dict[str, int] = {}

    def _occupy(self, label, seconds):
        with self.lock:
            self.active[label] = self.active.get(label, 0) + 1
            self.peak[label] = max(self.peak.get(label, 0), self.active[label])
        time.sleep(seconds)
        with self.lock:
            self.active[label] -= 1

    @actorium.method(concurrency_group="io")
    def io(self, seconds=0.2):
        self._occupy("io", seconds)

    def plain(self, seconds=0.2):
        self._occupy("default", seconds)

    def peaks(self):
        with self.lock:
            return dict(self.peak)


def test_each_group_of_an_async_actor_runs_up_to_its_own_limit():
    actor = AsyncGroups.remote()
    actorium.get([actor.io.remote() for _ in range(6)]
                 + [actor.compute.remote() for _ in range(8)]
                 + [actor.plain.remote() for _ in range(5)])
    # Ray 2.60 reports the same: the default group of an async actor allows 1000.
    assert actorium.get(actor.peaks.remote()) == {"io": 2, "compute": 4, "default": 5}


def test_max_concurrency_limits_the_default_group_only():
    actor = AsyncGroups.options(max_concurrency=2).remote()
    actorium.get([actor.plain.remote() for _ in range(6)]
                 + [actor.io.remote() for _ in range(6)])
    assert actorium.get(actor.peaks.remote()) == {"default": 2, "io": 2}


def test_a_call_runs_in_the_group_given_in_options():
    actor = AsyncGroups.options(max_concurrency=1).remote()
    in_io = actor.plain.options(concurrency_group="io")
    actorium.get([in_io.remote("moved") for _ in range(6)])
    # The method's own group is the default one (limit 1); the calls ran two at a time.
    assert actorium.get(actor.peaks.remote()) == {"moved": 2}
    back = actor.io.options(concurrency_group="default")
    actorium.get([back.remote() for _ in range(3)])
    assert actorium.get(actor.peaks.remote())["io"] == 1


def test_a_threaded_actor_runs_each_group_on_threads_of_its_own():
    actor = ThreadedGroups.remote()
    actorium.get([actor.io.remote() for _ in range(6)] + [actor.plain.remote() for _ in range(3)])
    # As on Ray: a threaded actor's default group runs one call at a time, "io" two.
    assert actorium.get(actor.peaks.remote()) == {"io": 2, "default": 1}


def test_a_busy_group_does_not_hold_up_the_others():
    actor = ThreadedGroups.remote()
    slow = [actor.plain.remote(2.0) for _ in range(2)]
    start = time.monotonic()
    actorium.get(actor.io.remote(0.0))
    assert time.monotonic() - start < 1.5   # not behind the 4 s of the default group
    actorium.get(slow)


def test_calls_of_one_caller_run_in_order_within_a_group():
    @actorium.remote(concurrency_groups={"log": 1})
    class Log:
        def __init__(self):
            self.seen = []

        @actorium.method(concurrency_group="log")
        def append(self, item):
            self.seen.append(item)

        def items(self):
            return self.seen

    log = Log.remote()
    actorium.get([log.append.remote(i) for i in range(200)])
    assert actorium.get(log.items.remote()) == list(range(200))


def test_a_method_naming_a_group_the_class_lacks_fails_where_the_class_is_defined():
    with pytest.raises(ValueError, match=r"Bad\.f names concurrency group 'nope'.*io"):
        @actorium.remote(concurrency_groups={"io": 1})
        class Bad:
            @actorium.method(concurrency_group="nope")
            def f(self):
                return 1


def test_a_call_naming_an_unknown_group_is_refused():
    actor = AsyncGroups.remote()
    with pytest.raises(ValueError, match="no concurrency group 'nope'.*compute, default, io"):
        actor.plain.options(concurrency_group="nope")


def test_a_handle_from_get_actor_has_the_unknown_group_refused_by_the_actor():
    AsyncGroups.options(name="groups-by-name").remote()
    handle = actorium.get_actor("groups-by-name")
    ref = handle.plain.options(concurrency_group="nope").remote()
    with pytest.raises((ValueError, RayTaskError), match="no concurrency group 'nope'"):
        actorium.get(ref, timeout=30)
    assert actorium.get(handle.peaks.remote(), timeout=30) == {}   # the actor lives on
    actorium.kill(handle)


@pytest.mark.parametrize("groups, problem", [
    (["io"], "must be a dict"),
    ({"io": 0}, "int >= 1"),
    ({"io": "2"}, "int >= 1"),
    ({"": 1}, "non-empty string"),
    ({"default": 3}, "max_concurrency"),
])
def test_bad_concurrency_groups_are_refused(groups, problem):
    with pytest.raises(ValueError, match=problem):
        actorium.remote(concurrency_groups=groups)(type("C", (), {"f": lambda self: 1}))


def test_concurrency_groups_cannot_be_set_in_options_as_in_ray():
    with pytest.raises(ValueError, match=r"concurrency_groups cannot be set in \.options\(\)"):
        AsyncGroups.options(concurrency_groups={"io": 3})


def test_a_group_name_must_be_a_string():
    with pytest.raises(ValueError, match="concurrency_group must be a non-empty string"):
        actorium.method(concurrency_group=3)


def test_an_actor_restarted_keeps_its_groups():
    actor = ThreadedGroups.options(max_restarts=1).remote()
    actorium.get(actor.peaks.remote())
    actorium.kill(actor, no_restart=False)
    deadline = time.monotonic() + 30
    while True:
        try:
            actorium.get([actor.io.remote() for _ in range(4)], timeout=30)
            break
        except actorium.exceptions.ActorDiedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    assert actorium.get(actor.peaks.remote())["io"] == 2
