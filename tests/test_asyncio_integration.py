"""ObjectRefs are awaitable on any loop; blocking calls inside a running loop are refused."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
from aiohttp import web

import actorium
from actorium.exceptions import ActorDiedError, BlockingCallInLoopError, TaskError

pytestmark = pytest.mark.usefixtures("runtime")


@actorium.remote
def square(x):
    return x * x


@actorium.remote
def slow_value(value, seconds):
    time.sleep(seconds)
    return value


@actorium.remote
def fails():
    raise KeyError("no such key")


@actorium.remote
async def async_fan_out(n):
    """An async task awaiting refs with gather, wait_for and as_completed."""
    gathered = await asyncio.gather(*[square.remote(i) for i in range(n)])
    single = await asyncio.wait_for(square.remote(n), timeout=10)
    completed = [await ref for ref in asyncio.as_completed([square.remote(i) for i in range(n)])]
    return gathered, single, sorted(completed)


@actorium.remote
async def async_get_is_refused():
    try:
        actorium.get(square.remote(1))
    except BlockingCallInLoopError as exc:
        return str(exc)
    return "get() did not raise"


@actorium.remote
class Greeter:
    def __init__(self):
        self.greeted = 0

    def greet(self, name):
        self.greeted += 1
        return f"hello {name} #{self.greeted}"


@actorium.remote
class Napper:
    async def nap(self, value, seconds):
        await asyncio.sleep(seconds)
        return value


@actorium.remote
class AsyncFrontend:
    def __init__(self, greeter):
        self.greeter = greeter

    async def greet_twice(self, name):
        first = await self.greeter.greet.remote(name)
        second = await asyncio.wait_for(self.greeter.greet.remote(name), timeout=10)
        return [first, second]

    async def try_blocking_get(self):
        try:
            actorium.get(self.greeter.greet.remote("x"))
        except BlockingCallInLoopError as exc:
            return type(exc).__name__
        return "get() did not raise"


# ---------------------------------------------------------------------- in the driver
@pytest.mark.asyncio
async def test_awaiting_a_ref_gives_its_value():
    assert await square.remote(6) == 36


@pytest.mark.asyncio
async def test_gather_awaits_many_refs_in_order():
    assert await asyncio.gather(*[square.remote(i) for i in range(10)]) == [
        i * i for i in range(10)]


@pytest.mark.asyncio
async def test_wait_for_awaits_a_ref_with_a_timeout():
    assert await asyncio.wait_for(square.remote(3), 10) == 9


@pytest.mark.asyncio
async def test_wait_for_times_out_on_a_slow_ref_which_can_be_awaited_again():
    ref = slow_value.remote("late", 0.6)
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(ref, 0.1)
    assert await ref == "late"


@pytest.mark.asyncio
async def test_as_completed_yields_refs_in_completion_order():
    napper = Napper.remote()
    refs = [napper.nap.remote("slow", 1.0), napper.nap.remote("fast", 0.05)]
    order = [await next_done for next_done in asyncio.as_completed(refs)]
    assert order == ["fast", "slow"]


@pytest.mark.asyncio
async def test_awaiting_a_failed_ref_raises_the_task_error():
    with pytest.raises(KeyError) as info:
        await fails.remote()
    assert isinstance(info.value, TaskError)
    assert "fails" in info.value.remote_traceback


@pytest.mark.asyncio
async def test_a_ref_can_be_awaited_twice():
    ref = square.remote(5)
    assert await ref == 25
    assert await ref == 25


@pytest.mark.asyncio
async def test_as_future_wraps_a_ref_in_an_asyncio_future():
    future = square.remote(4).as_future()
    assert isinstance(future, asyncio.Future)
    assert await future == 16


@pytest.mark.asyncio
async def test_awaiting_an_actor_call_gives_its_value():
    greeter = Greeter.remote()
    assert await greeter.greet.remote("ada") == "hello ada #1"


def test_awaiting_refs_works_under_asyncio_run():
    async def main():
        return await asyncio.gather(square.remote(2), square.remote(3))

    assert asyncio.run(main()) == [4, 9]


def test_ref_future_is_a_concurrent_future():
    assert square.remote(8).future().result(timeout=10) == 64


# ---------------------------------------------------------------------- blocking in a loop
@pytest.mark.asyncio
async def test_blocking_get_inside_a_running_loop_raises_and_says_await():
    ref = square.remote(2)
    with pytest.raises(BlockingCallInLoopError, match="await"):
        actorium.get(ref)
    assert await ref == 4


@pytest.mark.asyncio
async def test_blocking_wait_inside_a_running_loop_raises():
    with pytest.raises(BlockingCallInLoopError, match="await"):
        actorium.wait([square.remote(2)])


def test_blocking_get_inside_an_async_task_raises():
    message = actorium.get(async_get_is_refused.remote(), timeout=20)
    assert "await" in message


def test_blocking_get_inside_an_async_actor_raises():
    frontend = AsyncFrontend.remote(Greeter.remote())
    assert actorium.get(frontend.try_blocking_get.remote(), timeout=20) == \
        "BlockingCallInLoopError"


# ---------------------------------------------------------------------- in tasks and actors
def test_an_async_task_can_gather_wait_for_and_iterate_as_completed():
    gathered, single, completed = actorium.get(async_fan_out.remote(5), timeout=30)
    assert gathered == [0, 1, 4, 9, 16]
    assert single == 25
    assert completed == [0, 1, 4, 9, 16]


def test_an_async_actor_awaits_another_actors_calls():
    frontend = AsyncFrontend.remote(Greeter.remote())
    assert actorium.get(frontend.greet_twice.remote("bo"), timeout=20) == [
        "hello bo #1", "hello bo #2"]


# ---------------------------------------------------------------------- a web service
@pytest.mark.asyncio
@pytest.mark.timeout(30)
async def test_an_aiohttp_handler_awaits_an_actor_call():
    greeter = Greeter.remote()

    async def handle(request):
        text = await greeter.greet.remote(request.match_info["name"])
        return web.json_response({"greeting": text})

    app = web.Application()
    app.router.add_get("/greet/{name}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        async with aiohttp.ClientSession() as session:
            replies = []
            for name in ("ann", "bob"):
                url = f"http://127.0.0.1:{port}/greet/{name}"
                async with session.get(url) as response:
                    assert response.status == 200
                    replies.append((await response.json())["greeting"])
            concurrent = await asyncio.gather(*[
                session.get(f"http://127.0.0.1:{port}/greet/c{i}") for i in range(10)])
            for response in concurrent:
                assert response.status == 200
                response.release()
    finally:
        await runner.cleanup()
    assert replies == ["hello ann #1", "hello bob #2"]
    assert await greeter.greet.remote("last") == "hello last #13"


# ---------------------------------------------------------------------- abandoned awaits
ABANDONED_AWAIT = """
import asyncio, time
import actorium

actorium.init(num_cpus=1)

@actorium.remote
def slow():
    time.sleep(0.5)
    return "value"

ref = slow.remote()

async def impatient():
    try:
        await asyncio.wait_for(ref, 0.05)
    except asyncio.TimeoutError:
        pass

asyncio.run(impatient())   # the loop that awaited the ref is closed now
{after}
print("OK")
"""


@pytest.mark.timeout(60)
def test_get_after_an_abandoned_await_on_a_closed_loop_returns_the_value(run_script):
    result = run_script(ABANDONED_AWAIT.format(after="""
print(actorium.get(ref, timeout=4))
actorium.shutdown()
"""), timeout=40)
    assert result.returncode == 0, result.stderr
    assert "value\nOK" in result.stdout
    assert "Event loop is closed" not in result.stderr


@pytest.mark.timeout(60)
def test_shutdown_after_an_abandoned_await_on_a_closed_loop_is_clean(run_script):
    result = run_script(ABANDONED_AWAIT.format(after="actorium.shutdown()"), timeout=40)
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout


# ---------------------------------------------------------------------- named actors, loops
@actorium.remote
class Named:
    def __init__(self, value):
        self.value = value

    def read(self):
        return self.value


@pytest.mark.asyncio
async def test_a_taken_name_in_async_code_fails_the_new_handles_calls():
    first = Named.options(name="async-taken").remote(1)
    assert await first.read.remote() == 1
    second = Named.options(name="async-taken").remote(2)  # does not block the loop
    with pytest.raises(ActorDiedError, match="async-taken"):
        await asyncio.wait_for(second.read.remote(), 20)
    assert await first.read.remote() == 1
    actorium.kill(first)


@pytest.mark.asyncio
async def test_get_if_exists_in_async_code_reaches_the_existing_actor():
    first = Named.options(name="async-shared").remote(1)
    assert await first.read.remote() == 1
    again = Named.options(name="async-shared", get_if_exists=True).remote(2)
    assert await asyncio.wait_for(again.read.remote(), 20) == 1
    actorium.kill(first)


@pytest.mark.asyncio
@pytest.mark.parametrize("blocking_call", [
    lambda: actorium.get_actor("anything"), actorium.cluster_resources,
    actorium.available_resources, actorium.nodes,
], ids=["get_actor", "cluster_resources", "available_resources", "nodes"])
async def test_other_blocking_calls_inside_a_running_loop_raise(blocking_call):
    with pytest.raises(BlockingCallInLoopError):
        blocking_call()


def test_init_may_be_called_inside_a_running_loop(no_runtime):
    async def main():
        actorium.init(num_cpus=1)
        try:
            return await square.remote(7)
        finally:
            actorium.shutdown()

    assert asyncio.run(main()) == 49
    assert not actorium.is_initialized()
