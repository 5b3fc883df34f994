"""``exit_actor()`` and ``sys.exit()`` inside an actor's generator method end the actor.

Checked side by side on Ray 2.60 (2026-12-04): the stream's consumer gets the items yielded
before the exit, then ``ActorDiedError``; every later call fails with ``ActorDiedError``;
``sys.exit(<error code>)`` is a crash, so an actor with ``max_restarts`` left comes back as a
fresh incarnation (Ray answers the stream's next item with ``ActorUnavailableError`` there,
a kind of ``ActorError``; here it is ``ActorDiedError`` as for a plain method's crash). For an
async generator Ray 2.60 fails only the item (``AsyncioActorExit``) and keeps the actor; here
the actor ends there too, as ``exit_actor()`` says it does and as an async method's exit does.
"""

from __future__ import annotations

import sys
import time

import pytest

import actorium as ray
from actorium.exceptions import ActorDiedError

pytestmark = [pytest.mark.usefixtures("runtime"), pytest.mark.timeout(180)]


def _leave(how: str) -> None:
    if how == "exit_actor":
        ray.actor.exit_actor()
    sys.exit(int(how))


class _Streamer:
    def __init__(self) -> None:
        self.calls = 0

    def count(self) -> int:
        self.calls += 1
        return self.calls

    def stream(self, how: str):
        yield 1
        yield 2
        _leave(how)
        yield 3                          # never reached


Streamer = ray.remote(max_restarts=1)(_Streamer)


@ray.remote(max_restarts=1)
class AsyncStreamer:
    def __init__(self) -> None:
        self.calls = 0

    async def count(self) -> int:
        self.calls += 1
        return self.calls

    async def stream(self, how: str):
        yield 1
        yield 2
        _leave(how)
        yield 3

    def plain_stream(self, how: str):    # a plain generator of an async actor, run on its loop
        yield 1
        yield 2
        _leave(how)
        yield 3


KINDS = {
    "sync": lambda: Streamer.remote(),
    "threaded": lambda: Streamer.options(max_concurrency=3).remote(),
    "async": lambda: AsyncStreamer.remote(),
    "async-plain": lambda: AsyncStreamer.remote(),
}


def _stream(actor, kind: str, how: str):
    method = actor.plain_stream if kind == "async-plain" else actor.stream
    return method.remote(how)


def _read(gen) -> list:
    out: list = []
    for ref in gen:
        try:
            out.append(ray.get(ref, timeout=60))
        except Exception as exc:  # noqa: BLE001 - recorded, as the consumer sees it
            out.append(exc)
    return out


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("how", ["exit_actor", "0"])
def test_an_exit_in_a_generator_ends_the_actor_for_good(kind, how):
    actor = KINDS[kind]()
    assert ray.get(actor.count.remote(), timeout=60) == 1
    items = _read(_stream(actor, kind, how))
    assert items[:2] == [1, 2] and len(items) == 3
    assert isinstance(items[2], ActorDiedError)
    reason = "exit_actor" if how == "exit_actor" else r"sys\.exit"
    for _ in range(2):                   # not restarted though it has max_restarts left
        with pytest.raises(ActorDiedError, match=reason):
            ray.get(actor.count.remote(), timeout=60)


@pytest.mark.parametrize("kind", list(KINDS))
def test_sys_exit_with_an_error_code_in_a_generator_is_a_crash_and_restarts(kind):
    actor = KINDS[kind]()
    assert ray.get([actor.count.remote(), actor.count.remote()], timeout=60) == [1, 2]
    items = _read(_stream(actor, kind, "3"))
    assert items[:2] == [1, 2] and isinstance(items[2], ActorDiedError) and len(items) == 3
    assert _first_call_after_restart(actor) == 1     # a fresh incarnation (max_restarts=1)
    items = _read(_stream(actor, kind, "3"))
    assert items[:2] == [1, 2] and isinstance(items[2], ActorDiedError)
    with pytest.raises(ActorDiedError, match=r"sys\.exit\(3\)"):   # restarts used up
        ray.get(actor.count.remote(), timeout=60)


def _first_call_after_restart(actor) -> int:
    """A call sent before the caller heard of the restart fails (max_task_retries=0); one
    sent after it reaches the new incarnation."""
    deadline = time.monotonic() + 60
    while True:
        try:
            return ray.get(actor.count.remote(), timeout=60)
        except ActorDiedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
