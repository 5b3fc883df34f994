"""Where and how code runs: parallel tasks up to num_cpus, actor processes, many actors,
resources, and actors that do not block one another."""

from __future__ import annotations

import asyncio
import os
import time

import pytest

import actorium


@actorium.remote
def nap(seconds):
    time.sleep(seconds)
    return os.getpid()


@actorium.remote
def pid():
    return os.getpid()


@actorium.remote
def fan_out_and_wait(width):
    """Blocks in get() on child tasks (needs the CPU it holds to be lent out)."""
    return sum(actorium.get([nap.remote(0.05) for _ in range(width)]))


@actorium.remote
class Tiny:
    def __init__(self, index):
        self.index = index

    def index_value(self):
        return self.index


@actorium.remote
class Process:
    def pid(self):
        return os.getpid()

    def block(self, seconds):
        time.sleep(seconds)
        return "woke"


@actorium.remote
class AsyncProcess:
    async def pid(self):
        await asyncio.sleep(0)
        return os.getpid()


def warm_up(count):
    """Make sure ``count`` task workers are up and have run code (first calls pay imports)."""
    actorium.get([nap.remote(0.3) for _ in range(count)], timeout=30)


# ---------------------------------------------------------------------- parallel tasks
@pytest.mark.timeout(60)
def test_four_sleeping_tasks_on_four_cpus_finish_in_about_one_second(start_runtime):
    start_runtime(num_cpus=4)
    warm_up(4)
    started = time.monotonic()
    pids = actorium.get([nap.remote(1.0) for _ in range(4)], timeout=30)
    elapsed = time.monotonic() - started
    assert elapsed < 1.9, f"4 x 1 s sleeping tasks on 4 CPUs took {elapsed:.2f} s"
    assert len(set(pids)) == 4, "each task ran in a worker process of its own"


@pytest.mark.timeout(60)
def test_no_more_tasks_than_cpus_run_at_once(start_runtime):
    start_runtime(num_cpus=2)
    warm_up(2)
    started = time.monotonic()
    actorium.get([nap.remote(0.5) for _ in range(4)], timeout=30)
    elapsed = time.monotonic() - started
    assert elapsed >= 0.95, f"4 x 0.5 s tasks on 2 CPUs took only {elapsed:.2f} s"


@actorium.remote
def burn_where(iterations):
    """CPU work; returns (pid, started, finished) in wall-clock time."""
    started = time.time()
    total = 0
    for i in range(iterations):
        total += i * i % 7
    return os.getpid(), started, time.time()


@pytest.mark.timeout(90)
def test_two_cpu_bound_tasks_run_at_once_in_two_processes(start_runtime):
    # Whether the two processes get a core each is the kernel's business (and on a shared
    # machine not ours to time); the runtime's is to run them at once, in two processes.
    start_runtime(num_cpus=2)
    actorium.get([burn_where.remote(10_000) for _ in range(2)], timeout=30)  # warm both
    (pid_a, start_a, end_a), (pid_b, start_b, end_b) = actorium.get(
        [burn_where.remote(3_000_000) for _ in range(2)], timeout=60)
    assert pid_a != pid_b
    assert max(start_a, start_b) < min(end_a, end_b), "the two tasks ran one after the other"


@actorium.remote
def meet(directory, expected, patience):
    """Arrive at a rendezvous of ``expected`` tasks and wait up to ``patience`` s for the
    others; returns (arrived, left) wall-clock times.

    A rendezvous instead of a stopwatch: on a loaded machine starting the extra workers can
    take longer than any fixed bound, but tasks that cannot run together never all meet.
    """
    arrived = time.time()
    open(os.path.join(directory, str(os.getpid())), "w").close()
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline and len(os.listdir(directory)) < expected:
        time.sleep(0.02)
    return arrived, time.time()


def most_at_once(intervals):
    """The largest number of (start, end) intervals that overlap at one moment."""
    edges = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals],
                   key=lambda edge: (edge[0], edge[1]))
    running = peak = 0
    for _, step in edges:
        running += step
        peak = max(peak, running)
    return peak


@pytest.mark.timeout(60)
def test_tasks_reserving_half_a_cpu_run_two_per_cpu(start_runtime, tmp_path):
    start_runtime(num_cpus=2)
    intervals = actorium.get([meet.options(num_cpus=0.5).remote(str(tmp_path), 4, 30.0)
                              for _ in range(4)], timeout=50)
    assert most_at_once(intervals) == 4, f"4 half-CPU tasks on 2 CPUs: {intervals}"


@pytest.mark.timeout(60)
def test_tasks_reserving_a_whole_cpu_run_at_most_one_per_cpu(start_runtime, tmp_path):
    start_runtime(num_cpus=2)
    intervals = actorium.get([meet.options(num_cpus=1).remote(str(tmp_path), 3, 1.0)
                              for _ in range(3)], timeout=50)
    assert most_at_once(intervals) <= 2, f"3 one-CPU tasks on 2 CPUs: {intervals}"


@pytest.mark.timeout(60)
def test_a_task_reserving_every_cpu_runs_alone(start_runtime):
    start_runtime(num_cpus=2)
    warm_up(2)
    started = time.monotonic()
    whole = nap.options(num_cpus=2).remote(0.5)
    small = nap.remote(0.5)
    actorium.get([whole, small], timeout=30)
    assert time.monotonic() - started >= 0.95


@pytest.mark.timeout(60)
def test_custom_resources_limit_how_many_tasks_run_at_once(start_runtime):
    start_runtime(num_cpus=2, resources={"licence": 1})
    warm_up(2)
    started = time.monotonic()
    actorium.get([nap.options(resources={"licence": 1}).remote(0.4) for _ in range(2)],
                 timeout=30)
    assert time.monotonic() - started >= 0.75, "two tasks shared the one licence"


@pytest.mark.timeout(60)
def test_tasks_blocked_in_get_lend_their_cpu_to_their_children(start_runtime):
    start_runtime(num_cpus=1)
    assert actorium.get(fan_out_and_wait.remote(3), timeout=45) > 0


@pytest.mark.timeout(60)
def test_a_task_returns_the_pid_of_a_worker_process(start_runtime):
    start_runtime(num_cpus=2)
    worker_pids = set(actorium.get([pid.remote() for _ in range(6)], timeout=30))
    assert os.getpid() not in worker_pids
    node_children = {p.pid for p in __import__("psutil").Process().children(recursive=True)}
    assert worker_pids <= node_children


# ---------------------------------------------------------------------- actor processes
@pytest.mark.timeout(60)
def test_an_actor_reserving_a_cpu_runs_in_a_process_of_its_own(start_runtime):
    start_runtime(num_cpus=3)  # two dedicated actors hold two CPUs; tasks need the third
    light = [Process.remote() for _ in range(3)]
    light_pids = set(actorium.get([a.pid.remote() for a in light], timeout=30))
    dedicated = Process.options(num_cpus=1).remote()
    other_dedicated = Process.options(num_cpus=1).remote()
    dedicated_pid = actorium.get(dedicated.pid.remote(), timeout=30)
    other_pid = actorium.get(other_dedicated.pid.remote(), timeout=30)
    task_pids = set(actorium.get([pid.remote() for _ in range(4)], timeout=30))
    assert len(light_pids) == 1, "lightweight actors share a host process"
    assert dedicated_pid not in light_pids
    assert dedicated_pid != other_pid
    assert dedicated_pid not in task_pids
    assert os.getpid() not in light_pids | {dedicated_pid}


@pytest.mark.timeout(60)
def test_a_dedicated_actor_holds_its_cpu_until_it_is_killed(start_runtime):
    start_runtime(num_cpus=2)
    actor = Process.options(num_cpus=1).remote()
    actorium.get(actor.pid.remote(), timeout=30)
    assert actorium.available_resources().get("CPU", 0) == 1
    actorium.kill(actor)
    deadline = time.monotonic() + 10
    while actorium.available_resources().get("CPU", 0) != 2:
        assert time.monotonic() < deadline, "the killed actor's CPU was never released"
        time.sleep(0.05)


@pytest.mark.timeout(60)
def test_an_actor_waits_for_a_cpu_to_be_free(start_runtime):
    start_runtime(num_cpus=1)
    holder = Process.options(num_cpus=1).remote()
    actorium.get(holder.pid.remote(), timeout=30)
    waiting = Process.options(num_cpus=1).remote()
    ref = waiting.pid.remote()
    ready, _ = actorium.wait([ref], timeout=0.5)
    assert ready == [], "the second actor ran without a free CPU"
    actorium.kill(holder)
    assert actorium.get(ref, timeout=30) > 0


@pytest.mark.timeout(60)
def test_a_blocked_sync_actor_does_not_block_other_actors_in_its_process(start_runtime):
    start_runtime(num_cpus=2)
    sleeper, neighbour = Process.remote(), Process.remote()
    async_neighbour = AsyncProcess.remote()
    pids = actorium.get([sleeper.pid.remote(), neighbour.pid.remote(),
                         async_neighbour.pid.remote()], timeout=30)
    assert len(set(pids)) == 1, "the test needs the actors to share a process"
    blocked = sleeper.block.remote(5)
    time.sleep(0.2)
    started = time.monotonic()
    assert actorium.get(neighbour.pid.remote(), timeout=10) == pids[0]
    assert actorium.get(async_neighbour.pid.remote(), timeout=10) == pids[0]
    assert time.monotonic() - started < 1.0
    ready, _ = actorium.wait([blocked], timeout=0)
    assert ready == []


@pytest.mark.timeout(60)
def test_a_sync_actor_with_max_concurrency_runs_calls_in_parallel_threads(start_runtime):
    start_runtime(num_cpus=2)
    actor = Process.options(max_concurrency=4).remote()
    actorium.get(actor.pid.remote(), timeout=30)
    started = time.monotonic()
    assert actorium.get([actor.block.remote(0.5) for _ in range(4)], timeout=30) == ["woke"] * 4
    assert time.monotonic() - started < 1.4


@pytest.mark.timeout(120)
def test_two_thousand_small_actors_fit_and_answer(start_runtime):
    start_runtime(num_cpus=2)
    started = time.monotonic()
    actors = [Tiny.remote(i) for i in range(2000)]
    values = actorium.get([a.index_value.remote() for a in actors], timeout=90)
    elapsed = time.monotonic() - started
    assert values == list(range(2000))
    assert elapsed < 60, f"2000 actors took {elapsed:.1f} s to create and call"
    # and they are all still there, with their state
    assert actorium.get([actors[i].index_value.remote() for i in (0, 999, 1999)]) == [
        0, 999, 1999]
