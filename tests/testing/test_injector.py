"""The injector on its own: what each action does to a stream of sends, and the seed."""

from __future__ import annotations

import asyncio
import threading

import pytest

from actorium._faults.injector import Injector, Receiver, interpose, interpose_inbox
from actorium._faults.plan import FAULTS_ENV, FaultPlan, MessageFault
from actorium._transport.links import message_kind
from actorium._transport.protocol import Kind, pack, unpack
from actorium.testing import delay, drop, duplicate, reorder


def _message(kind: Kind, n: int) -> list[bytes]:
    return [pack([kind, n, b"x" * 4])]


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[str, int, int]] = []
        self.lock = threading.Lock()

    def __call__(self, address, frames) -> None:
        from actorium._transport.protocol import unpack
        header = unpack(frames[0])
        with self.lock:
            self.sent.append((address, header[0], header[1]))

    def numbers(self, kind: Kind) -> list[int]:
        return [n for _, k, n in self.sent if k == kind]


def _run(faults, seed=0, count=1000, kind=Kind.ACTOR_CALL):
    recorder = Recorder()
    injector = Injector(FaultPlan(faults=tuple(faults), seed=seed), faults, recorder)
    for n in range(count):
        injector.send("ipc://peer", _message(kind, n))
    return injector, recorder


def test_the_kind_is_read_from_the_header_without_decoding_it():
    assert message_kind([pack([Kind.TASK_RESULT, b"id", 0, [], []])]) == Kind.TASK_RESULT
    assert message_kind([pack([Kind.ACTOR_CALL, *range(20)])]) == Kind.ACTOR_CALL   # array16


def test_drop_loses_about_the_share_asked_and_only_of_the_kinds_named():
    injector, recorder = _run([drop("actor_calls", 0.25)])
    kept = recorder.numbers(Kind.ACTOR_CALL)
    assert 650 < len(kept) < 850, len(kept)
    assert kept == sorted(kept)
    _, untouched = _run([drop("actor_calls", 0.25)], kind=Kind.TASK_RESULT)
    assert untouched.numbers(Kind.TASK_RESULT) == list(range(1000))


def test_the_same_seed_makes_the_same_decisions_and_another_seed_others():
    first = _run([drop("requests", 0.3)], seed=11)[1].numbers(Kind.ACTOR_CALL)
    again = _run([drop("requests", 0.3)], seed=11)[1].numbers(Kind.ACTOR_CALL)
    other = _run([drop("requests", 0.3)], seed=12)[1].numbers(Kind.ACTOR_CALL)
    assert first == again
    assert first != other


def test_nth_hits_exactly_that_message():
    _, recorder = _run([drop("actor_calls", nth=3)], count=10)
    assert recorder.numbers(Kind.ACTOR_CALL) == [0, 1, 3, 4, 5, 6, 7, 8, 9]


def test_duplicate_sends_twice():
    _, recorder = _run([duplicate("actor_calls", nth=2)], count=4)
    assert recorder.numbers(Kind.ACTOR_CALL) == [0, 1, 1, 2, 3]


class Wire:
    """A sender's injector, the wire, and the receiver's ``Receiver`` on an event loop."""

    def __init__(self, faults, seed=0) -> None:
        self.handled: list[int] = []
        self.receiver = Receiver(lambda frames: self.handled.append(unpack(frames[0])[1]))
        self.wire: list[list] = []
        self.injector = Injector(FaultPlan(faults=tuple(faults), seed=seed), faults,
                                 lambda address, frames: self.wire.append(list(frames)))

    async def send_and_receive(self, numbers, settle=0.0):
        for n in numbers:
            self.injector.send("ipc://peer", _message(Kind.ACTOR_CALL, n))
        sent, self.wire = self.wire, []
        for frames in sent:
            self.receiver(frames)
        await asyncio.sleep(settle)


def test_reorder_lets_the_next_message_overtake_at_the_receiver():
    wire = Wire([reorder("actor_calls", nth=2)])
    asyncio.run(wire.send_and_receive(range(4)))
    assert wire.handled == [0, 2, 1, 3]


def test_a_held_message_is_handled_after_its_window_if_nothing_follows():
    async def scenario():
        await wire.send_and_receive([0])
        assert wire.handled == []
        await asyncio.sleep(0.2)

    wire = Wire([reorder("actor_calls", nth=1, within=0.05)])
    asyncio.run(scenario())
    assert wire.handled == [0]


def test_a_delayed_message_leaves_the_sender_at_once_and_waits_at_the_receiver():
    wire = Wire([delay("actor_calls", nth=1, seconds=(0.05, 0.05))])

    async def scenario():
        wire.injector.send("ipc://peer", _message(Kind.ACTOR_CALL, 0))
        assert len(wire.wire) == 1   # on the wire already: a dying sender cannot lose it
        await wire.send_and_receive([1], settle=0.0)
        # The delayed one is still waiting at the receiver, and what came after it waits
        # behind it: a delay keeps the order (the runtime relies on it), only reorder breaks it.
        assert wire.handled == []
        await asyncio.sleep(0.2)

    asyncio.run(scenario())
    assert wire.handled == [0, 1]


def test_without_delay_or_reorder_in_the_plan_the_inbox_is_left_alone(monkeypatch):
    def handle(frames):
        pass

    monkeypatch.delenv(FAULTS_ENV, raising=False)
    assert interpose_inbox(handle) is handle
    monkeypatch.setenv(FAULTS_ENV, FaultPlan(faults=(drop("results"),)).to_json())
    assert interpose_inbox(handle) is handle
    monkeypatch.setenv(FAULTS_ENV, FaultPlan(faults=(delay("results"),)).to_json())
    assert isinstance(interpose_inbox(handle), Receiver)


class FakeOutbox:
    def __init__(self) -> None:
        self.sent: list[object] = []

    def send(self, address, frames) -> None:
        self.sent.append(frames)

    def close(self, flush_seconds: float = 0.0) -> None:
        pass


def test_without_a_plan_the_outbox_is_left_alone(monkeypatch):
    monkeypatch.delenv(FAULTS_ENV, raising=False)
    outbox = FakeOutbox()
    assert interpose(outbox, "driver") is None
    assert "send" not in vars(outbox)


def test_a_plan_for_other_roles_leaves_this_process_alone(monkeypatch):
    plan = FaultPlan(faults=(drop("results", roles=("worker",)),), seed=1)
    monkeypatch.setenv(FAULTS_ENV, plan.to_json())
    outbox = FakeOutbox()
    assert interpose(outbox, "driver") is None
    assert interpose(outbox, "worker") is not None
    assert "send" in vars(outbox)


def test_the_plan_survives_its_trip_through_the_environment():
    plan = FaultPlan(faults=(drop("replies", 0.25), delay("ACTOR_CALL", 0.5, seconds=(0, 1)),
                             MessageFault("kill_after", ("results",), nth=4)), seed=9)
    assert FaultPlan.from_json(plan.to_json()) == plan


@pytest.mark.parametrize("make, message", [
    (lambda: drop("nonsense"), "unknown message kind 'nonsense'"),
    (lambda: drop("requests", 1.5), "share must be a number from 0 to 1"),
    (lambda: drop("requests", nth=0), "nth must be a positive int"),
    (lambda: delay("requests", seconds=(0.2, 0.1)), "delay must be"),
    (lambda: MessageFault("explode", ("requests",)), "unknown fault action 'explode'"),
    (lambda: drop("requests", roles=("gcs",)), "unknown role 'gcs'"),
    (lambda: drop([]), "at least one message kind"),
])
def test_a_bad_fault_is_refused_with_a_message_naming_it(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_a_broken_plan_in_the_environment_is_named(monkeypatch):
    monkeypatch.setenv(FAULTS_ENV, "{not json")
    with pytest.raises(ValueError, match=FAULTS_ENV):
        interpose(FakeOutbox(), "driver")
