"""actorium.Supervisor: strategies, restart types, intensity and escalation (issue test 3)."""

from __future__ import annotations

import os
import signal
import time
import uuid

import pytest

import actorium
from actorium.exceptions import ActorDiedError


@actorium.remote
class Child:
    """Remembers a token drawn at construction: a new token means a new incarnation."""

    def __init__(self, name: str, log: str | None = None) -> None:
        self.name = name
        self.log = log
        self.token = uuid.uuid4().hex

    def ident(self) -> str:
        return self.token

    def leave(self) -> None:
        actorium.exit_actor()

    def pid(self) -> int:
        return os.getpid()

    def work(self, seconds: float) -> str:
        time.sleep(seconds)
        return f"{self.name} done"

    def __actorium_stop__(self) -> None:
        if self.log:
            with open(self.log, "a") as log:
                log.write(self.name + "\n")


def _tokens(runtime, children):
    return [runtime.get(c.ident.remote(), timeout=30) for c in children]


def _crash(runtime, child):
    """An abnormal death the supervisor sees (like a crash, without killing a shared host)."""
    runtime.kill(child, no_restart=False)


@pytest.mark.parametrize(("strategy", "restarted"), [
    ("one_for_one", [False, True, False]),
    ("one_for_all", [True, True, True]),
    ("rest_for_one", [False, True, True]),
])
def test_strategy_restarts_the_right_children(runtime, strategy, restarted):
    with actorium.Supervisor(strategy=strategy, max_restarts=3, within=30) as sup:
        children = [sup.start(Child, name) for name in "abc"]
        before = _tokens(runtime, children)
        _crash(runtime, children[1])
        after = _tokens(runtime, [children[1]]) + _tokens(runtime, [children[0], children[2]])
        after = [after[1], after[0], after[2]]
        assert [b != a for b, a in zip(before, after, strict=True)] == restarted
        assert sup.status().restarts == 1


def test_permanent_child_comes_back_even_after_a_normal_exit(runtime):
    with actorium.Supervisor() as sup:
        # max_task_retries: a call racing with the exit goes to the next incarnation.
        child = sup.start(Child.options(max_task_retries=-1), "p", restart="permanent")
        first = _tokens(runtime, [child])[0]
        with pytest.raises(ActorDiedError, match="exit_actor"):
            runtime.get(child.leave.remote(), timeout=30)   # it ran: never resent
        assert _tokens(runtime, [child])[0] != first


def test_transient_child_comes_back_only_after_an_abnormal_death(runtime):
    with actorium.Supervisor() as sup:
        crashing = sup.start(Child, "t1", restart="transient")
        leaving = sup.start(Child, "t2", restart="transient")
        first = _tokens(runtime, [crashing])[0]
        _crash(runtime, crashing)
        assert _tokens(runtime, [crashing])[0] != first
        runtime.get(leaving.ident.remote(), timeout=30)
        with pytest.raises(ActorDiedError, match="exit_actor"):
            runtime.get(leaving.leave.remote(), timeout=30)   # the exiting call fails
        time.sleep(0.5)   # a transient child that left normally is not restarted
        with pytest.raises(ActorDiedError, match="exit_actor"):
            runtime.get(leaving.ident.remote(), timeout=30)


def test_temporary_child_never_comes_back(runtime):
    with actorium.Supervisor(strategy="one_for_all") as sup:
        temporary = sup.start(Child, "tmp", restart="temporary")
        other = sup.start(Child, "other")
        first = _tokens(runtime, [other])[0]
        _crash(runtime, other)   # one_for_all: the temporary sibling is stopped, not restarted
        assert _tokens(runtime, [other])[0] != first
        with pytest.raises(ActorDiedError):
            runtime.get(temporary.ident.remote(), timeout=30)
        assert len(sup.status().children) == 1


def test_exceeding_intensity_escalates_to_the_parent_supervisor(runtime):
    with actorium.Supervisor(strategy="one_for_one", max_restarts=5, within=60) as parent:
        sibling = parent.start(Child, "sibling")
        nested = parent.supervisor(strategy="one_for_one", max_restarts=1, within=60)
        child = nested.start(Child, "x")
        tokens = [_tokens(runtime, [child])[0]]
        sibling_token = _tokens(runtime, [sibling])[0]
        for _ in range(2):   # the second restart is more than 1 within 60 s: nested gives up
            _crash(runtime, child)
            tokens.append(_tokens(runtime, [child])[0])
        assert len(set(tokens)) == 3          # the parent restarted the nested subtree
        assert nested.status().state == "running"
        assert parent.status().restarts == 1  # the escalation counted once, at the parent
        assert _tokens(runtime, [sibling])[0] == sibling_token


def test_a_top_level_supervisor_that_gives_up_fails_and_buries_its_children(runtime):
    sup = actorium.Supervisor(max_restarts=0, within=60)
    child = sup.start(Child, "doomed")
    _tokens(runtime, [child])
    _crash(runtime, child)
    status = sup.wait(timeout=30)
    assert status.state == "failed"
    assert "gave up" in status.reason and "more than 0 restart(s) within 60 s" in status.reason
    with pytest.raises(ActorDiedError, match="gave up"):
        runtime.get(child.ident.remote(), timeout=30)


def test_stop_runs_children_down_in_reverse_start_order(runtime, tmp_path):
    log = tmp_path / "stops"
    sup = actorium.Supervisor()
    children = [sup.start(Child, name, str(log), shutdown_timeout=5.0) for name in "abc"]
    _tokens(runtime, children)
    running = children[0].work.remote(0.5)    # a running call is let finish ...
    time.sleep(0.1)
    status = sup.stop()
    assert status.state == "stopped"
    assert runtime.get(running, timeout=30) == "a done"
    assert log.read_text().split() == ["c", "b", "a"]
    with pytest.raises(ActorDiedError):
        runtime.get(children[0].ident.remote(), timeout=30)


def test_a_child_overrunning_its_shutdown_timeout_is_killed(runtime):
    sup = actorium.Supervisor()
    child = sup.start(Child.options(num_cpus=1), "slow", shutdown_timeout=0.5)
    _tokens(runtime, [child])
    stuck = child.work.remote(60)
    time.sleep(0.2)
    assert sup.stop().state == "stopped"      # well before the 60 s call would end
    with pytest.raises(ActorDiedError):
        runtime.get(stuck, timeout=30)


def test_bad_supervisor_options_are_refused_with_the_option_named(runtime):
    with pytest.raises(ValueError, match="strategy"):
        actorium.Supervisor(strategy="one_for_some")
    with pytest.raises(ValueError, match="max_restarts"):
        actorium.Supervisor(max_restarts=-1)
    with actorium.Supervisor() as sup, pytest.raises(ValueError, match="restart"):
        sup.start(Child, "x", restart="sometimes")


def test_children_lost_with_one_host_process_count_as_one_restart(start_runtime):
    """A worker death that takes several children along is one incident, as in OTP."""
    start_runtime(num_cpus=1)
    with actorium.Supervisor(strategy="one_for_all", max_restarts=1, within=60) as sup:
        children = [sup.start(Child, name) for name in "abcd"]
        before = _tokens(actorium, children)
        pids = {actorium.get(c.pid.remote(), timeout=30) for c in children}
        assert len(pids) == 1                       # lightweight: they share a host
        os.kill(pids.pop(), signal.SIGKILL)
        after = []
        for child in children:   # calls in flight at the death fail (at-most-once)
            for _ in range(100):
                try:
                    after.append(actorium.get(child.ident.remote(), timeout=30))
                    break
                except ActorDiedError:
                    time.sleep(0.05)
        assert len(after) == 4 and not set(after) & set(before)
        status = sup.status()
        assert (status.state, status.restarts) == ("running", 1)
