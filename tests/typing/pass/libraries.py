# checked by: mypy
"""The libraries with typed actors: ActorPool, util.queue, DAGs (.bind) and virtual actors."""

from __future__ import annotations

from typing import Any, assert_type

import actorium
from actorium import ActorHandle, ObjectRef
from actorium.dag import InputNode, MultiOutputNode
from actorium.util import ActorPool
from actorium.util.queue import Queue


@actorium.remote
class Resizer:
    def resize(self, image: int) -> str:
        return f"thumb-{image}"


@actorium.remote
def tokenize(text: str) -> list[str]:
    return text.split()


@actorium.remote
class Scorer:
    def __init__(self, positive: set[str]) -> None:
        self.positive = positive

    def score(self, words: list[str]) -> int:
        return sum(word in self.positive for word in words)


@actorium.virtual(idle_timeout=30)
class Thermostat(actorium.VirtualActor):
    def __init__(self) -> None:
        self.state = {"readings": []}

    async def report(self, celsius: float) -> int:
        readings: list[float] = self.state["readings"]
        readings.append(celsius)
        await self.save_state()
        return len(readings)

    async def receive_reminder(self, reminder: actorium.Reminder) -> None:
        await self.set_reminder("check", due=60.0)


def pool() -> list[str]:
    actors = [Resizer.remote() for _ in range(3)]
    pool = ActorPool(actors)
    pool.submit(lambda actor, image: actor.resize.remote(image), 1)
    first: str = pool.get_next()
    rest = list(pool.map(lambda actor, image: actor.resize.remote(image), range(5)))
    return [first, *rest]


def queue() -> None:
    jobs = Queue(maxsize=10)
    jobs.put(("job", 1))
    job: tuple[str, int] = jobs.get(timeout=1)
    jobs.put_nowait_batch([job, job])
    assert_type(jobs.get_nowait_batch(2), list[Any])
    jobs.shutdown()


def dag() -> Any:
    scorer = Scorer.remote({"good"})
    with InputNode() as doc:
        words = tokenize.bind(doc.text)               # nodes stand for the arguments
        score = scorer.score.bind(words)
        graph = MultiOutputNode([words, score])
    node = Scorer.bind({"great"})
    other = node.score.bind(tokenize.bind("a great day"))
    return [graph.execute(doc), other.execute()]


def virtual() -> None:
    device = Thermostat.get("device-17")
    assert_type(device, ActorHandle[Thermostat])
    assert_type(device.report.remote(21.5), ObjectRef[int])
    assert_type(actorium.get(device.report.remote(20.0)), int)
    assert_type(Thermostat.reminders("device-17"), list[actorium.Reminder])
    assert_type(Thermostat.cancel_reminder("device-17", "check"), bool)
