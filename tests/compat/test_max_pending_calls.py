"""``max_pending_calls`` on an actor class, as in Ray 2.60: a caller process may have that many
unfinished calls on the actor; one more ``.remote()`` raises ``PendingCallsLimitExceeded`` at
once and sends nothing. Checked side by side with Ray: the count is the process's (every handle
to the actor in it), a finished call frees its place before its result is fetched, a handle
passed to a task brings the limit along, and -1 (the default), 0 and None mean no limit."""

from __future__ import annotations

import pytest

import actorium
from actorium.exceptions import ActorError, PendingCallsLimitExceeded
from compat.gate import Gate

pytestmark = pytest.mark.usefixtures("runtime")


@actorium.remote(max_pending_calls=2)
class Limited:
    def __init__(self):
        self.calls = 0

    async def hold(self, gate):
        await gate.wait.remote()

    async def count(self):
        self.calls += 1
        return self.calls


def _fill(actor, gate, n):
    """``n`` calls on ``actor`` that stay unfinished until ``gate`` opens."""
    actorium.get(actor.count.remote())  # created and answering
    before = actorium.get(actor.count.remote())
    return before, [actor.hold.remote(gate) for _ in range(n)]


def test_the_call_past_the_limit_raises_at_once_and_is_not_sent():
    gate, actor = Gate.remote(), Limited.remote()
    before, held = _fill(actor, gate, 2)
    with pytest.raises(PendingCallsLimitExceeded) as raised:
        actor.count.remote()
    message = str(raised.value)
    assert "Limited.count" in message and actor.actor_id in message
    assert "max_pending_calls is 2" in message
    actorium.get(gate.open.remote())
    actorium.get(held)
    assert actorium.get(actor.count.remote()) == before + 1  # the refused call never ran


def test_the_error_is_rays_a_ray_error_but_not_an_actor_error():
    gate, actor = Gate.remote(), Limited.remote()
    _before, held = _fill(actor, gate, 2)
    with pytest.raises(actorium.exceptions.RayError) as raised:
        actor.count.remote()
    assert not isinstance(raised.value, ActorError)  # the actor is fine: Ray's tree
    actorium.get(gate.open.remote())
    actorium.get(held)


def test_a_finished_call_frees_its_place_before_its_result_is_fetched():
    gate, actor = Gate.remote(), Limited.remote()
    _before, held = _fill(actor, gate, 2)
    actorium.get(gate.open.remote())
    ready, _ = actorium.wait(held, num_returns=2, timeout=60)
    assert len(ready) == 2
    actorium.get([actor.count.remote(), actor.count.remote()])  # room for two again


def test_every_handle_in_the_process_counts_toward_one_limit():
    gate = Gate.remote()
    actor = Limited.options(name="limited-shared", max_pending_calls=1).remote()
    _before, held = _fill(actor, gate, 1)
    again = actorium.get_actor("limited-shared")
    with pytest.raises(PendingCallsLimitExceeded):
        again.count.remote()
    actorium.get(gate.open.remote())
    actorium.get(held)
    actorium.get(again.count.remote())
    actorium.kill(actor)


@actorium.remote
def call_twice(actor, gate):
    held = actor.hold.remote(gate)
    try:
        actor.count.remote()
    except PendingCallsLimitExceeded:
        outcome = "refused"
    else:
        outcome = "sent"
    actorium.get(gate.open.remote())
    actorium.get(held)
    return outcome


def test_a_handle_passed_to_a_task_brings_the_limit_along():
    actor = Limited.options(max_pending_calls=1).remote()
    actorium.get(actor.count.remote())
    assert actorium.get(call_twice.remote(actor, Gate.remote())) == "refused"


@pytest.mark.parametrize("limit", [-1, 0, None])
def test_minus_one_zero_and_none_mean_no_limit(limit):
    gate, actor = Gate.remote(), Limited.options(max_pending_calls=limit).remote()
    _before, held = _fill(actor, gate, 20)
    extra = actor.count.remote()
    actorium.get(gate.open.remote())
    actorium.get([*held, extra])


def test_the_default_is_no_limit():
    @actorium.remote
    class Plain:
        async def hold(self, gate):
            await gate.wait.remote()

    gate, actor = Gate.remote(), Plain.remote()
    held = [actor.hold.remote(gate) for _ in range(50)]
    actorium.get(gate.open.remote())
    actorium.get(held)


def test_options_override_the_class_limit():
    gate, actor = Gate.remote(), Limited.options(max_pending_calls=3).remote()
    _before, held = _fill(actor, gate, 3)
    with pytest.raises(PendingCallsLimitExceeded, match="max_pending_calls is 3"):
        actor.count.remote()
    actorium.get(gate.open.remote())
    actorium.get(held)


@pytest.mark.parametrize("bad", [-2, 1.5, True, "3"])
def test_a_bad_limit_is_refused_naming_the_option(bad):
    with pytest.raises(ValueError, match="max_pending_calls"):
        Limited.options(max_pending_calls=bad)


def test_the_option_is_for_actor_classes_only():
    with pytest.raises(ValueError, match="max_pending_calls is for actor classes"):
        @actorium.remote(max_pending_calls=1)
        def task():
            pass
    actor = Limited.remote()
    with pytest.raises(ValueError, match="max_pending_calls is for actor classes"):
        actor.count.options(max_pending_calls=1)
