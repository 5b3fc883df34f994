"""``@actorium.method(retry_exceptions=...)``: a method that raises runs again on its actor, as
in Ray 2.60 (checked side by side, 2026-12-04).

Up to the actor's ``max_task_retries`` retries (-1: without end; 0, the default: none, and no
error either); ``True`` retries any ``Exception``, a list only those classes; after the last
retry the caller gets the last exception. A streaming generator method that raises runs again
from the start and the consumer sees each index once (the first items from the first run).
Ray also takes ``.options(retry_exceptions=...)`` per call; here that is refused with a clear
error (the option is the method's).
"""

from __future__ import annotations

import pytest

import actorium as ray

pytestmark = [pytest.mark.usefixtures("runtime"), pytest.mark.timeout(180)]


class _Flaky:
    def __init__(self) -> None:
        self.runs = 0
        self.streams = 0

    @ray.method(retry_exceptions=True)
    def flaky(self, fails: int) -> int:
        self.runs += 1
        if self.runs <= fails:
            raise ValueError(f"run {self.runs} broke")
        return self.runs

    @ray.method(retry_exceptions=[KeyError])
    def only_key_errors(self, error: str) -> None:
        self.runs += 1
        raise {"KeyError": KeyError, "ValueError": ValueError}[error](error)

    def not_retried(self) -> None:
        self.runs += 1
        raise ValueError("once")

    def count(self) -> int:
        return self.runs

    @ray.method(retry_exceptions=True)
    def stream(self):
        self.streams += 1
        for i in range(4):
            if i == 2 and self.streams == 1:
                raise ValueError("the first stream broke")
            yield i, self.streams


Flaky = ray.remote(_Flaky)


@ray.remote
class AsyncFlaky:
    def __init__(self) -> None:
        self.runs = 0
        self.streams = 0

    @ray.method(retry_exceptions=True)
    async def flaky(self, fails: int) -> int:
        self.runs += 1
        if self.runs <= fails:
            raise ValueError(f"run {self.runs} broke")
        return self.runs

    @ray.method(retry_exceptions=True)
    async def stream(self):
        self.streams += 1
        for i in range(4):
            if i == 2 and self.streams == 1:
                raise ValueError("the first stream broke")
            yield i, self.streams

    @ray.method(retry_exceptions=True)
    def plain_stream(self):   # a plain generator of an async actor: run on its loop
        self.streams += 1
        for i in range(4):
            if i == 2 and self.streams == 1:
                raise ValueError("the first stream broke")
            yield i, self.streams


KINDS = {
    "sync": lambda **o: Flaky.options(**o).remote(),
    "threaded": lambda **o: Flaky.options(max_concurrency=3, **o).remote(),
    "async": lambda **o: AsyncFlaky.options(**o).remote(),
}


@pytest.mark.parametrize("kind", list(KINDS))
def test_a_method_that_raises_runs_again_up_to_max_task_retries(kind):
    assert ray.get(KINDS[kind](max_task_retries=2).flaky.remote(2), timeout=60) == 3
    actor = KINDS[kind](max_task_retries=2)
    with pytest.raises(ValueError, match="run 3 broke"):   # the last run's exception
        ray.get(actor.flaky.remote(3), timeout=60)
    assert ray.get(KINDS[kind](max_task_retries=-1).flaky.remote(5), timeout=60) == 6


@pytest.mark.parametrize("kind", list(KINDS))
def test_without_max_task_retries_nothing_is_retried(kind):
    actor = KINDS[kind]()
    with pytest.raises(ValueError, match="run 1 broke"):
        ray.get(actor.flaky.remote(1), timeout=60)
    assert ray.get(actor.flaky.remote(1), timeout=60) == 2   # the actor lives on


def test_a_list_retries_only_its_classes_and_a_plain_method_is_not_retried():
    actor = Flaky.options(max_task_retries=2).remote()
    with pytest.raises(KeyError):
        ray.get(actor.only_key_errors.remote("KeyError"), timeout=60)
    assert ray.get(actor.count.remote(), timeout=60) == 3
    with pytest.raises(ValueError):
        ray.get(actor.only_key_errors.remote("ValueError"), timeout=60)
    assert ray.get(actor.count.remote(), timeout=60) == 4
    with pytest.raises(ValueError, match="once"):
        ray.get(actor.not_retried.remote(), timeout=60)
    assert ray.get(actor.count.remote(), timeout=60) == 5


@pytest.mark.parametrize("kind", list(KINDS))
def test_a_streaming_method_that_raises_starts_again_and_each_index_comes_once(kind):
    methods = ["stream", "plain_stream"] if kind == "async" else ["stream"]
    for method in methods:
        actor = KINDS[kind](max_task_retries=1)
        items = [ray.get(ref, timeout=60) for ref in getattr(actor, method).remote()]
        assert items == [(0, 1), (1, 1), (2, 2), (3, 2)], method
        without = KINDS[kind]()
        out: list = []
        with pytest.raises(ValueError, match="first stream broke"):
            for ref in getattr(without, method).remote():
                out.append(ray.get(ref, timeout=60))
        assert out == [(0, 1), (1, 1)], method


def test_retry_exceptions_is_checked_and_is_the_methods_not_a_calls():
    with pytest.raises(ValueError, match="retry_exceptions must be a bool or a list"):
        ray.method(retry_exceptions="yes")
    actor = Flaky.options(max_task_retries=1).remote()
    with pytest.raises(ValueError, match="set on the method"):
        actor.not_retried.options(retry_exceptions=True)
