"""actorium.testing.simulate(): actor code tested in one process on a virtual clock.

What a user relies on: hours of timeouts, retries and periodic work finish at once; the same
seed gives the same run and other seeds other interleavings; faults and kills apply as in the
real runtime; a wait that can never end says so instead of hanging; and the code under test
is the same as in the real runtime.
"""

from __future__ import annotations

import asyncio
import time

import pytest

import actorium
from actorium.exceptions import (
    ActorDiedError,
    GetTimeoutError,
    SimulationStalledError,
    WorkerCrashedError,
)
from actorium.testing import drop, duplicate, kill_sender, reorder, simulate


@pytest.fixture(autouse=True)
def _no_shared_runtime(no_runtime: None) -> None:
    """simulate() replaces init(): the suite's shared runtime must not run meanwhile."""


@actorium.remote
class Upstream:
    """A dependency that answers slowly: after ``delay`` virtual seconds."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.asked = 0

    async def fetch(self, key: str) -> str:
        self.asked += 1
        await asyncio.sleep(self.delay)
        return f"value of {key}"

    def times_asked(self) -> int:
        return self.asked


@actorium.remote
class Service:
    """Calls upstream with a timeout and retries, as services do."""

    def __init__(self, upstream: actorium.actor.ActorHandle, timeout: float,
                 attempts: int) -> None:
        self.upstream = upstream
        self.timeout = timeout
        self.attempts = attempts

    async def lookup(self, key: str) -> str:
        for _attempt in range(self.attempts):
            try:
                return await asyncio.wait_for(self.upstream.fetch.remote(key), self.timeout)
            except TimeoutError:
                continue
        return "gave up"


def test_an_hour_of_timeouts_passes_in_virtual_time():
    started = time.monotonic()
    with simulate(seed=1) as sim:
        upstream = Upstream.remote(7200.0)                 # answers after two hours
        service = Service.remote(upstream, 1800.0, 2)      # 30 min timeout, 2 attempts
        assert actorium.get(service.lookup.remote("k")) == "gave up"
        assert 3600 <= sim.now < 3700
        assert actorium.get(upstream.times_asked.remote()) == 2
    # It did not wait an hour (a bound on "did not really sleep", not a speed target).
    assert time.monotonic() - started < 60


def test_a_slow_answer_within_the_timeout_is_returned():
    with simulate(seed=2) as sim:
        service = Service.remote(Upstream.remote(1200.0), 1800.0, 3)
        assert actorium.get(service.lookup.remote("k")) == "value of k"
        assert 1200 <= sim.now < 1300


@actorium.remote
class Ticker:
    """Periodic work: a reminder-like loop started by the constructor."""

    def __init__(self, period: float) -> None:
        self.period = period
        self.ticks = 0
        self._loop: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.period)
            self.ticks += 1

    async def count(self) -> int:
        return self.ticks


def test_periodic_work_runs_once_per_period_of_virtual_time():
    with simulate(seed=3) as sim:
        ticker = Ticker.remote(60.0)
        actorium.get(ticker.start.remote())
        sim.sleep(3600 + 30)
        assert actorium.get(ticker.count.remote()) == 60


@actorium.remote
class Napper:
    def nap(self, seconds: float) -> float:
        before = time.time()
        time.sleep(seconds)          # a sync method blocking: virtual too
        return time.time() - before


def test_time_sleep_in_sync_code_and_get_timeout_are_virtual():
    with simulate(seed=4) as sim:
        napper = Napper.remote()
        assert actorium.get(napper.nap.remote(5000.0)) == pytest.approx(5000.0, abs=1.0)
        slow = napper.nap.remote(900.0)
        with pytest.raises(GetTimeoutError):
            actorium.get(slow, timeout=60.0)
        at_timeout = sim.now
        assert actorium.get(slow) == pytest.approx(900.0, abs=1.0)
        assert sim.now - at_timeout >= 800


@actorium.remote
class Journal:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def write(self, line: str) -> int:
        self.lines.append(line)
        return len(self.lines)

    def read(self) -> list[str]:
        return self.lines


@actorium.remote
def writer(journal: actorium.actor.ActorHandle, name: str, count: int) -> None:
    for index in range(count):
        actorium.get(journal.write.remote(f"{name}{index}"))


def _interleaving(seed: int) -> list[str]:
    with simulate(seed=seed):
        journal = Journal.remote()
        actorium.get([writer.remote(journal, name, 5) for name in "abc"])
        return actorium.get(journal.read.remote())


def test_the_same_seed_gives_the_same_interleaving_and_other_seeds_others():
    first = _interleaving(11)
    assert sorted(first) == sorted(f"{n}{i}" for n in "abc" for i in range(5))
    for name in "abc":   # each writer's own order is kept
        assert [line for line in first if line[0] == name] == [f"{name}{i}" for i in range(5)]
    assert _interleaving(11) == first
    others = {tuple(_interleaving(seed)) for seed in range(12, 20)}
    assert len(others | {tuple(first)}) > 1


def test_duplicated_and_reordered_calls_still_run_once_each_in_order():
    with simulate(duplicate("actor_calls", 0.5), reorder("actor_calls", 0.3), seed=5) as sim:
        journal = Journal.remote()
        assert actorium.get([journal.write.remote(str(i)) for i in range(40)]) == \
            list(range(1, 41))
        assert actorium.get(journal.read.remote()) == [str(i) for i in range(40)]
        assert sim.stats["faults"].get("duplicate", 0) > 0


def _lookups_under_lost_results(seed: int) -> tuple[int, float]:
    """A client that retries a lookup whose results are lost a third of the time."""
    with simulate(drop("results", 0.3, roles=("worker",)), seed=seed) as sim:
        upstream = Upstream.remote(1.0)
        tries = 0
        for key in range(10):
            while True:
                tries += 1
                try:
                    assert actorium.get(upstream.fetch.remote(str(key)), timeout=30.0) == \
                        f"value of {key}"
                    break
                except GetTimeoutError:
                    continue
        return tries, sim.now


def test_dropped_results_are_survived_by_retrying_and_each_seed_repeats_itself():
    tries, elapsed = _lookups_under_lost_results(6)
    assert tries > 10                      # some results were lost...
    assert elapsed >= 30 * (tries - 10)    # ...each cost its 30 s timeout, virtually
    assert _lookups_under_lost_results(6) == (tries, elapsed)


def test_a_wait_that_can_never_end_raises_instead_of_hanging():
    with simulate(drop("results", 1.0, roles=("worker",)), seed=7):
        journal = Journal.remote()
        with pytest.raises(SimulationStalledError, match="nothing can happen"):
            actorium.get(journal.write.remote("lost"))


@actorium.remote(max_restarts=1)
class Fragile:
    def __init__(self) -> None:
        self.calls = 0

    def call(self) -> int:
        self.calls += 1
        return self.calls


def test_a_killed_actor_restarts_with_fresh_state_then_dies_for_good():
    with simulate(seed=8) as sim:
        fragile = Fragile.remote()
        assert actorium.get([fragile.call.remote() for _ in range(3)]) == [1, 2, 3]
        sim.kill_actor_worker(fragile)
        assert actorium.get(fragile.call.remote()) == 1      # restarted: a fresh instance
        sim.kill_actor_worker(fragile)
        with pytest.raises(ActorDiedError):
            actorium.get(fragile.call.remote())
        assert sim.stats["actor_restarts"] == 1


@actorium.remote(max_retries=2)
def flaky_result(value: int) -> int:
    return value


def test_tasks_whose_worker_dies_are_retried_then_fail_with_worker_crashed():
    # Every first result of each worker kills it after sending: retried tasks complete.
    with simulate(kill_sender("results", nth=1, after=False), seed=9) as sim:
        with pytest.raises(WorkerCrashedError):
            actorium.get(flaky_result.remote(1))
        assert sim.stats["task_runs"] == 3    # the first run and its two retries


def test_an_async_driver_awaits_refs_in_the_simulation():
    async def main() -> list[int]:
        journal = Journal.remote()
        return list(await asyncio.gather(*[journal.write.remote(str(i)) for i in range(3)]))

    with simulate(seed=10) as sim:
        assert sim.run(main()) == [1, 2, 3]


def test_named_actors_and_get_actor_work_in_the_simulation():
    with simulate(seed=12):
        Journal.options(name="journal").remote()
        journal = actorium.get_actor("journal")
        assert actorium.get(journal.write.remote("x")) == 1
        with pytest.raises(ValueError, match="no live actor"):
            actorium.get_actor("nobody")


def test_bad_arguments_are_refused_and_a_running_runtime_too(start_runtime):
    with pytest.raises(ValueError, match="seed must be an int"):
        with simulate(seed="one"):
            pass
    with pytest.raises(TypeError, match="message faults"):
        with simulate("drop"):
            pass
    with pytest.raises(ValueError, match="no head service"):
        with simulate(drop("requests", roles=("head",))):
            pass
    with pytest.raises(ValueError, match="latency"):
        with simulate(latency=(1.0, 0.5)):
            pass
    start_runtime(num_cpus=1)
    with pytest.raises(RuntimeError, match="shutdown"):
        with simulate():
            pass


def test_the_same_code_runs_in_the_real_runtime(start_runtime):
    start_runtime(num_cpus=2)
    service = Service.remote(Upstream.remote(0.01), 30.0, 2)
    assert actorium.get(service.lookup.remote("k"), timeout=60) == "value of k"
    journal = Journal.remote()
    actorium.get([writer.remote(journal, name, 3) for name in "ab"], timeout=60)
    assert sorted(actorium.get(journal.read.remote(), timeout=60)) == \
        sorted(f"{n}{i}" for n in "ab" for i in range(3))
