"""The actor directory's index: its counts and its order agree with a walk of the actors,
through creations, changes of state and pages at any offset (what the fleet pages show)."""

from __future__ import annotations

import random

import pytest

from actorium._observe.actor_index import ActorIndex

pytestmark = pytest.mark.timeout(60)

STATES = ("PENDING_CREATION", "ALIVE", "RESTARTING", "DEAD")


def _fleet(seed: int = 7) -> tuple[ActorIndex, dict[bytes, tuple[str, str]]]:
    """An index and the truth it must agree with: actor id -> (class, state)."""
    rng = random.Random(seed)
    index, truth = ActorIndex(), {}
    for _ in range(3000):
        actor_id = rng.randbytes(16)
        name = rng.choice(("Twin", "Pump", "Valve"))
        index.add(name, actor_id, "PENDING_CREATION")
        truth[actor_id] = (name, "PENDING_CREATION")
        if rng.random() < 0.3:    # some change state as others are still being created
            victim = rng.choice(list(truth))
            old_class, old = truth[victim]
            new = rng.choice(STATES[1:])
            index.moved(old_class, old, new)
            truth[victim] = (old_class, new)
    return index, truth


def _walk(truth: dict[bytes, tuple[str, str]], class_name: str | None = None,
          state: str | None = None) -> list[bytes]:
    return [actor_id for actor_id, (name, now) in sorted(truth.items(),
                                                         key=lambda kv: (kv[1][0], kv[0]))
            if (class_name is None or name == class_name) and (state is None or now == state)]


def test_counts_per_class_and_state_are_those_of_a_walk():
    index, truth = _fleet()
    walked: dict[str, dict[str, int]] = {}
    for name, state in truth.values():
        walked.setdefault(name, {})
        walked[name][state] = walked[name].get(state, 0) + 1
    assert index.groups() == dict(sorted(walked.items()))
    assert index.count() == len(truth)
    assert index.count(class_name="Twin", state="ALIVE") == walked["Twin"].get("ALIVE", 0)
    assert index.count(state="DEAD") == sum(s.get("DEAD", 0) for s in walked.values())
    assert index.count(class_name="Nobody") == 0
    by_state = index.by_state()
    assert sum(by_state.values()) == len(truth) and set(by_state) <= set(STATES)


def test_a_state_that_empties_is_no_longer_shown():
    index = ActorIndex()
    index.add("Twin", b"\x01", "PENDING_CREATION")
    index.moved("Twin", "PENDING_CREATION", "ALIVE")
    assert index.groups() == {"Twin": {"ALIVE": 1}}
    index.moved("Twin", "ALIVE", "ALIVE")      # no change is no change
    assert index.groups() == {"Twin": {"ALIVE": 1}}


@pytest.mark.parametrize("class_name", [None, "Pump"])
@pytest.mark.parametrize("state", [None, "ALIVE", "DEAD"])
def test_pages_at_any_offset_are_the_slices_of_the_walk_in_order(class_name, state):
    index, truth = _fleet()
    order = _walk(truth, class_name, state)
    assert order, "the fleet has actors of every filter"

    def in_state(actor_id: bytes) -> bool:
        return truth[actor_id][1] == state

    for offset in (0, 1, 49, len(order) // 2, len(order) - 1, len(order), len(order) + 10):
        page = list(zip(range(50), index.ordered(class_name=class_name, state=state,
                                                  offset=offset, in_state=in_state),
                        strict=False))   # the first 50 only
        assert [actor_id for _, actor_id in page] == order[offset:offset + 50], offset


def test_actors_added_after_a_page_are_placed_in_order():
    index, truth = _fleet()
    list(index.ordered())                 # sorted once
    rng = random.Random(3)
    for _ in range(500):
        actor_id = rng.randbytes(16)
        index.add("Pump", actor_id, "ALIVE")
        truth[actor_id] = ("Pump", "ALIVE")
    assert list(index.ordered()) == _walk(truth)


def test_a_state_filter_needs_a_way_to_tell_states():
    with pytest.raises(ValueError, match="in_state"):
        list(ActorIndex().ordered(state="ALIVE"))
