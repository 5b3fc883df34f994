"""Ray's auto-init: a program that never calls ``init()`` starts the runtime on first need.

Most programs of Ray's documentation never call ``ray.init()``; they must run unchanged. An
explicit ``init()`` after that raises as Ray's does (unless ``ignore_reinit_error``), and
``init()`` takes its address from ``ACTORIUM_ADDRESS`` / ``RAY_ADDRESS`` as Ray does.
"""

from __future__ import annotations

import asyncio
import textwrap
import threading

import pytest

import actorium
from actorium.exceptions import RuntimeNotInitializedError

pytestmark = pytest.mark.usefixtures("no_runtime")


@actorium.remote
def double(x: int) -> int:
    return 2 * x


@actorium.remote
class Counter:
    def __init__(self) -> None:
        self.n = 0

    def incr(self) -> int:
        self.n += 1
        return self.n


def test_a_task_call_starts_the_runtime_when_none_runs():
    assert not actorium.is_initialized()
    ref = double.remote(21)
    assert actorium.is_initialized()
    assert actorium.get(ref) == 42


def test_an_actor_creation_starts_the_runtime():
    counter = Counter.remote()
    assert actorium.get([counter.incr.remote(), counter.incr.remote()]) == [1, 2]


@pytest.mark.parametrize("call", ["put", "get_actor", "available_resources",
                                  "cluster_resources", "nodes", "get_runtime_context"])
def test_every_call_that_begins_work_starts_the_runtime(call):
    if call == "put":
        assert actorium.get(actorium.put("x")) == "x"
    elif call == "get_actor":
        with pytest.raises(ValueError, match="no-such"):   # started, then found no actor
            actorium.get_actor("no-such-actor")
    elif call == "get_runtime_context":
        assert len(actorium.get_runtime_context().get_node_id()) > 0
    else:
        assert getattr(actorium, call)()
    assert actorium.is_initialized()


def test_an_explicit_init_after_auto_init_raises_as_on_ray():
    actorium.get(double.remote(1))
    with pytest.raises(RuntimeError, match="already running.*ignore_reinit_error"):
        actorium.init()
    info = actorium.init(ignore_reinit_error=True)
    assert info["node_id"] == actorium.get_runtime_context().get_node_id()


def test_threads_racing_to_the_first_call_start_one_runtime():
    results: list[object] = []
    barrier = threading.Barrier(4)

    def first_call() -> None:
        barrier.wait()
        try:
            results.append(actorium.get(double.remote(1)))
        except BaseException as exc:  # noqa: BLE001 - the test reports it
            results.append(exc)

    threads = [threading.Thread(target=first_call) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert results == [2, 2, 2, 2]


def test_after_shutdown_a_new_call_starts_a_new_runtime_but_old_refs_stay_dead():
    old = double.remote(1)
    first_node = actorium.get_runtime_context().get_node_id()
    actorium.shutdown()
    with pytest.raises(RuntimeNotInitializedError):
        actorium.get(old)          # a ref of the old runtime does not start a new one
    assert not actorium.is_initialized()
    assert actorium.get(double.remote(2)) == 4
    assert actorium.get_runtime_context().get_node_id() != first_node


@pytest.mark.parametrize("variable", ["ACTORIUM_AUTO_INIT", "RAY_ENABLE_AUTO_CONNECT"])
def test_auto_init_can_be_turned_off(monkeypatch, variable):
    monkeypatch.setenv(variable, "0")
    with pytest.raises(RuntimeNotInitializedError, match="init"):
        double.remote(1)
    with pytest.raises(RuntimeNotInitializedError):
        actorium.put(1)
    assert not actorium.is_initialized()


@pytest.mark.parametrize("variable", ["ACTORIUM_ADDRESS", "RAY_ADDRESS"])
def test_init_connects_to_the_address_in_the_environment(monkeypatch, variable):
    # Port 9 on loopback has no actorium head: init() must try it (and say so), not start
    # a local runtime, both with no address and with "auto".
    monkeypatch.delenv("ACTORIUM_ADDRESS", raising=False)
    monkeypatch.setenv(variable, "127.0.0.1:9")
    monkeypatch.setenv("ACTORIUM_CLUSTER_TOKEN", "x" * 32)
    for address in (None, "auto"):
        with pytest.raises(ConnectionError, match="127.0.0.1:9"):
            actorium.init(address)
        assert not actorium.is_initialized()


def test_an_explicit_local_address_ignores_the_environment(monkeypatch):
    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:9")
    actorium.init("local", num_cpus=1)
    assert actorium.get(double.remote(3)) == 6


def test_a_ray_documentation_program_without_init_runs(run_script):
    program = textwrap.dedent("""
        import actorium as ray

        @ray.remote
        def square(x):
            return x * x

        @ray.remote
        class Counter:
            def __init__(self):
                self.value = 0
            def increment(self):
                self.value += 1
                return self.value

        futures = [square.remote(i) for i in range(4)]
        print(ray.get(futures))
        c = Counter.remote()
        print(ray.get([c.increment.remote() for _ in range(3)]))
    """)
    outcome = run_script(program, timeout=120)
    assert outcome.returncode == 0, outcome.stderr
    assert outcome.stdout.splitlines()[-2:] == ["[0, 1, 4, 9]", "[1, 2, 3]"]


def test_a_first_call_from_async_code_starts_the_runtime():
    # Ray's asyncio examples call .remote() inside asyncio.run(main()) without init().
    async def main() -> list[int]:
        counter = Counter.remote()
        return [await double.remote(4), await counter.incr.remote()]

    assert asyncio.run(main()) == [8, 1]
