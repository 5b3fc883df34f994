"""Retries of streaming generators, by Ray's documented rule (checked side by side on Ray 2.60).

A streaming generator retried after its worker died (``max_retries``), after its actor was
restarted (``max_task_retries``), or after it raised an exception ``retry_exceptions`` covers
runs again from the start; the consumer sees every index once: the items it already had come
from the first run, the rest from the retry. Without retries left, the next item after the
delivered ones raises (``WorkerCrashedError``, ``ActorDiedError``, or the exception).

A crash here is made deterministic by the consumer: the producer yields two items, then waits
until the consumer, having read them, creates a file, and only then dies.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

import actorium as ray
from actorium.exceptions import ActorDiedError, TaskError, WorkerCrashedError
from tests.polling import eventually

pytestmark = [pytest.mark.multiprocess, pytest.mark.timeout(180)]


def _first_run(marker: str) -> bool:
    """True the first time (makes ``marker``), False on every later run."""
    try:
        with open(marker, "x"):
            return True
    except FileExistsError:
        return False


def _die_when(go: str) -> None:
    """Wait (in the producer) until the consumer made ``go``, then end the process."""
    while not os.path.exists(go):
        time.sleep(0.01)
    os._exit(1)


def _read(gen, go: Path | None = None, after: int = 2) -> list:
    """Every item's value (an exception's class name for a failed one); ``go`` is made once
    ``after`` items were read."""
    out: list = []
    for ref in gen:
        try:
            out.append(ray.get(ref, timeout=120))
        except Exception as exc:  # noqa: BLE001 - recorded, as the consumer sees it
            out.append(type(exc).__name__)
        if go is not None and len(out) == after:
            go.touch()
    return out


@ray.remote
def crashes_once(marker: str, go: str, n: int = 5):
    first = _first_run(marker)
    for i in range(n):
        if i == 2 and first:
            _die_when(go)
        yield i, "first" if first else "retry"


# ---------------------------------------------------------------------- worker death, tasks
def test_a_task_retried_after_its_worker_died_streams_every_index_once(runtime, tmp_path):
    gen = crashes_once.options(max_retries=1).remote(str(tmp_path / "ran"), str(tmp_path / "go"))
    assert _read(gen, tmp_path / "go") == [
        (0, "first"), (1, "first"), (2, "retry"), (3, "retry"), (4, "retry")]


def test_without_retries_the_next_item_raises_worker_crashed(runtime, tmp_path):
    gen = crashes_once.options(max_retries=0).remote(str(tmp_path / "ran"), str(tmp_path / "go"))
    assert _read(gen, tmp_path / "go") == [(0, "first"), (1, "first"), "WorkerCrashedError"]
    with pytest.raises(StopIteration):
        next(gen)


def test_a_retry_resumes_past_the_back_pressure_limit(runtime, tmp_path):
    # 40 items were read before the crash, 10 times the limit: the retried producer on a
    # fresh worker must learn how far the consumer is, or it would pause for ever at 4.
    gen = crashes_many.options(max_retries=1, _generator_backpressure_num_objects=4).remote(
        str(tmp_path / "ran"), str(tmp_path / "go"))
    values = _read(gen, tmp_path / "go", after=40)
    assert [index for index, _ in values] == list(range(100))
    assert {run for index, run in values if index < 40} == {"first"}
    assert {run for index, run in values if index >= 41} == {"retry"}


@ray.remote
def crashes_many(marker: str, go: str):
    first = _first_run(marker)
    for i in range(100):
        if i == 41 and first:
            _die_when(go)
        yield i, "first" if first else "retry"


@ray.remote
def exits_once(marker: str, go: str):
    import sys

    first = _first_run(marker)
    for i in range(4):
        if i == 2 and first:
            while not os.path.exists(go):
                time.sleep(0.01)
            sys.exit(1)
        yield i, "first" if first else "retry"


def test_sys_exit_in_a_generator_task_ends_its_worker_and_is_retried(runtime, tmp_path):
    # As on Ray 2.60: the worker exits (a system failure), so max_retries applies.
    retried = exits_once.options(max_retries=1).remote(str(tmp_path / "a"), str(tmp_path / "ga"))
    assert _read(retried, tmp_path / "ga") == [
        (0, "first"), (1, "first"), (2, "retry"), (3, "retry")]
    once = exits_once.options(max_retries=0).remote(str(tmp_path / "b"), str(tmp_path / "gb"))
    assert _read(once, tmp_path / "gb") == [(0, "first"), (1, "first"), "WorkerCrashedError"]


def test_the_end_of_a_retried_stream_counts_its_items(runtime, tmp_path):
    gen = crashes_once.options(max_retries=2).remote(str(tmp_path / "ran"), str(tmp_path / "go"))
    _read(gen, tmp_path / "go")
    assert ray.get(gen.completed()) == 5
    assert gen.is_finished()


# ---------------------------------------------------------------------- exceptions, tasks
@ray.remote
def raises_once(marker: str, error: str = "ValueError", n: int = 5):
    first = _first_run(marker)
    for i in range(n):
        if i == 2 and first:
            raise {"ValueError": ValueError, "KeyError": KeyError}[error]("first run broke")
        yield i, "first" if first else "retry"


def test_retry_exceptions_runs_the_generator_again_and_skips_what_was_read(runtime, tmp_path):
    gen = raises_once.options(max_retries=1, retry_exceptions=True).remote(
        str(tmp_path / "ran"))
    assert _read(gen) == [(0, "first"), (1, "first"), (2, "retry"), (3, "retry"), (4, "retry")]


def test_an_exception_is_not_retried_by_default(runtime, tmp_path):
    gen = raises_once.options(max_retries=3).remote(str(tmp_path / "ran"))
    assert ray.get(next(gen)) == (0, "first")
    assert ray.get(next(gen)) == (1, "first")
    with pytest.raises(TaskError, match="first run broke") as raised:
        ray.get(next(gen))
    assert isinstance(raised.value, ValueError)
    with pytest.raises(StopIteration):
        next(gen)


def test_retry_exceptions_as_a_list_retries_only_those_classes(runtime, tmp_path):
    listed = raises_once.options(max_retries=1, retry_exceptions=[KeyError])
    assert _read(listed.remote(str(tmp_path / "a"), "KeyError"))[2] == (2, "retry")
    assert _read(listed.remote(str(tmp_path / "b"), "ValueError")) == [
        (0, "first"), (1, "first"), "TaskError(ValueError)"]


def test_a_dynamic_generator_is_retried_whole_and_num_returns_n_is_not(runtime, tmp_path):
    # Ray 2.60 side by side: "dynamic" runs again and its one value is the retry's list;
    # with num_returns=N the returns after the exception hold it, retry_exceptions or not.
    dynamic = raises_once.options(num_returns="dynamic", max_retries=1, retry_exceptions=True)
    refs = ray.get(dynamic.remote(str(tmp_path / "a"), n=4))
    assert ray.get(list(refs)) == [(i, "retry") for i in range(4)]
    fixed = raises_once.options(num_returns=4, max_retries=1, retry_exceptions=True)
    assert _read(fixed.remote(str(tmp_path / "b"), n=4)) == [
        (0, "first"), (1, "first"), "TaskError(ValueError)", "TaskError(ValueError)"]


@ray.remote
def always_raises(counter: str):
    with open(counter, "a") as file:
        file.write("x")
    yield "before"
    raise ValueError("every run breaks")


def test_when_retries_run_out_the_exception_comes_after_the_items_once(runtime, tmp_path):
    counter = tmp_path / "runs"
    gen = always_raises.options(max_retries=2, retry_exceptions=True).remote(str(counter))
    assert _read(gen) == ["before", "TaskError(ValueError)"]
    assert counter.read_text() == "xxx"   # the first run and two retries


def test_an_in_process_retry_resumes_past_the_back_pressure_limit(runtime, tmp_path):
    gen = raises_late.options(max_retries=1, retry_exceptions=True,
                              _generator_backpressure_num_objects=4).remote(str(tmp_path / "ran"))
    values = _read(gen)
    assert [index for index, _ in values] == list(range(60))
    assert {run for index, run in values if index >= 30} == {"retry"}


@ray.remote
def raises_late(marker: str):
    first = _first_run(marker)
    for i in range(60):
        if i == 30 and first:
            raise ValueError("late")
        yield i, "first" if first else "retry"


@ray.remote
async def async_raises_once(marker: str):
    first = _first_run(marker)
    for i in range(4):
        await asyncio.sleep(0)
        if i == 2 and first:
            raise ValueError("first run broke")
        yield i, "first" if first else "retry"


def test_an_async_generator_task_is_retried_the_same_way(runtime, tmp_path):
    gen = async_raises_once.options(max_retries=1, retry_exceptions=True).remote(
        str(tmp_path / "ran"))
    assert _read(gen) == [(0, "first"), (1, "first"), (2, "retry"), (3, "retry")]


@ray.remote
async def async_fails_once(marker: str) -> str:
    if _first_run(marker):
        raise ValueError("first run broke")
    return "second run"


def test_an_async_task_honours_retry_exceptions(runtime, tmp_path):
    assert ray.get(async_fails_once.options(max_retries=1, retry_exceptions=True).remote(
        str(tmp_path / "ran"))) == "second run"
    with pytest.raises(TaskError, match="first run broke"):
        ray.get(async_fails_once.options(max_retries=1).remote(str(tmp_path / "other")))


# ---------------------------------------------------------------------- actors
@ray.remote
class Mortal:
    def __init__(self, marker: str, go: str) -> None:
        self.marker, self.go = marker, go

    def stream(self, n: int = 5):
        first = _first_run(self.marker)
        for i in range(n):
            if i == 2 and first:
                _die_when(self.go)
            yield i, "first" if first else "retry", os.getpid()

    def pid(self) -> int:
        return os.getpid()


@ray.remote
class AsyncMortal:
    def __init__(self, marker: str, go: str) -> None:
        self.marker, self.go = marker, go

    async def stream(self, n: int = 5):
        first = _first_run(self.marker)
        for i in range(n):
            if i == 2 and first:
                _die_when(self.go)
            await asyncio.sleep(0)
            yield i, "first" if first else "retry", os.getpid()

    async def pid(self) -> int:
        return os.getpid()


@pytest.mark.parametrize("actor_class,options", [
    (Mortal, {}), (Mortal, {"max_concurrency": 3}), (AsyncMortal, {})],
    ids=["plain", "threaded", "async"])
def test_an_actor_call_retried_on_the_restarted_actor_streams_every_index_once(
        runtime, tmp_path, actor_class, options):
    actor = actor_class.options(max_restarts=1, max_task_retries=1, **options).remote(
        str(tmp_path / "ran"), str(tmp_path / "go"))
    values = _read(actor.stream.remote(), tmp_path / "go")
    assert [(i, run) for i, run, _pid in values] == [
        (0, "first"), (1, "first"), (2, "retry"), (3, "retry"), (4, "retry")]
    assert values[0][2] != values[2][2]          # the retry ran in the new process
    assert ray.get(actor.pid.remote(), timeout=60) == values[2][2]
    ray.kill(actor)


def test_a_restarted_actor_without_task_retries_fails_the_next_item(runtime, tmp_path):
    actor = Mortal.options(max_restarts=1, max_task_retries=0).remote(
        str(tmp_path / "ran"), str(tmp_path / "go"))
    first_pid = ray.get(actor.pid.remote())
    values = _read(actor.stream.remote(), tmp_path / "go")
    assert values[:2] == [(0, "first", first_pid), (1, "first", first_pid)]
    assert values[2:] == ["ActorDiedError"]

    def restarted_elsewhere() -> bool:
        try:
            return ray.get(actor.pid.remote(), timeout=60) != first_pid
        except ActorDiedError:   # a call that reached the dead incarnation (at most once)
            return False

    eventually(restarted_elsewhere, timeout=60)   # it was restarted all the same
    ray.kill(actor)


def test_an_actor_that_is_not_restarted_fails_the_next_item(runtime, tmp_path):
    actor = Mortal.remote(str(tmp_path / "ran"), str(tmp_path / "go"))
    gen = actor.stream.remote()
    assert [ray.get(next(gen))[:2] for _ in range(2)] == [(0, "first"), (1, "first")]
    (tmp_path / "go").touch()
    with pytest.raises(ActorDiedError):
        ray.get(next(gen))
    with pytest.raises(StopIteration):
        next(gen)


def test_worker_crashed_is_what_a_task_without_retries_raises(runtime, tmp_path):
    # The class, not only its name: a user catches it.
    gen = crashes_once.options(max_retries=0).remote(str(tmp_path / "ran"), str(tmp_path / "go"))
    ray.get(next(gen))
    ray.get(next(gen))
    (tmp_path / "go").touch()
    with pytest.raises(WorkerCrashedError):
        ray.get(next(gen))
