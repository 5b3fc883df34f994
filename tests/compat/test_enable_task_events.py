"""``enable_task_events=False``, as in Ray 2.60: the task or call runs as usual but is left out
of the timeline (``timeline()``) and of the state API (``list_tasks``). On a class it covers
the actor's calls, except methods that say otherwise with ``@method(enable_task_events=True)``;
``.options(enable_task_events=...)`` decides for one function or call. Checked side by side
with Ray's ``ray.timeline()`` for the same program.

Workers report what they ran about once a second, together with their call counters: once
``summary()`` counts every call a test made, each call that is to be in the timeline is there,
so the absence of the others is a fact, not a race."""

from __future__ import annotations

import pytest
from polling import eventually

import actorium
from actorium.util.state import list_tasks, summary
from compat.gate import Gate

pytestmark = pytest.mark.usefixtures("runtime")


def _names_once_counted(tasks: int = 0, calls: int = 0, before: dict | None = None) -> set[str]:
    """The names in the timeline once the node has counted ``tasks`` more finished or failed
    tasks and ``calls`` more actor calls than ``before``."""
    base = before or {"tasks": {"finished": 0, "failed": 0}, "calls": 0}

    def counted():
        now = summary()
        done = now["tasks"]["finished"] + now["tasks"]["failed"]
        return (done >= base["tasks"]["finished"] + base["tasks"]["failed"] + tasks
                and now["calls"] >= base["calls"] + calls)

    eventually(counted, timeout=60)
    return {event.get("name") for event in actorium.timeline()}


@actorium.remote(enable_task_events=False)
def quiet_task():
    return "quiet"


@actorium.remote
def loud_task():
    return "loud"


def test_a_task_without_events_runs_but_is_not_in_the_timeline():
    before = summary()
    assert actorium.get([quiet_task.remote(), loud_task.remote()]) == ["quiet", "loud"]
    names = _names_once_counted(tasks=2, before=before)
    assert "loud_task" in names
    assert "quiet_task" not in names


def test_options_turn_a_tasks_events_off_and_on():
    before = summary()
    actorium.get([loud_task.options(name="loud_turned_off", enable_task_events=False).remote(),
                  quiet_task.options(name="quiet_turned_on", enable_task_events=True).remote()])
    names = _names_once_counted(tasks=2, before=before)
    assert "quiet_turned_on" in names
    assert "loud_turned_off" not in names


@actorium.remote(enable_task_events=False)
class QuietActor:
    def plain(self):
        return 1

    @actorium.method(enable_task_events=True)
    def loud(self):
        return 1


@actorium.remote
class LoudActor:
    def plain(self):
        return 1

    @actorium.method(enable_task_events=False)
    def quiet(self):
        return 1

    def other(self):
        return 1


def test_an_actors_option_covers_its_calls_and_a_method_can_say_otherwise():
    before = summary()
    quiet, loud = QuietActor.remote(), LoudActor.remote()
    actorium.get([quiet.plain.remote(), quiet.loud.remote(), loud.plain.remote(),
                  loud.quiet.remote(), loud.other.options(enable_task_events=False).remote()])
    names = _names_once_counted(calls=5, before=before)
    assert {"QuietActor.loud", "LoudActor.plain"} <= names
    assert not {"QuietActor.plain", "LoudActor.quiet", "LoudActor.other"} & names


@actorium.remote(enable_task_events=False)
def quiet_failure():
    raise ValueError("quiet failure")


@actorium.remote
def loud_failure():
    raise ValueError("loud failure")


def test_a_failed_task_without_events_is_not_listed():
    before = summary()
    for ref in (quiet_failure.remote(), loud_failure.remote()):
        with pytest.raises(ValueError):
            actorium.get(ref)
    _names_once_counted(tasks=2, before=before)
    failed = {row["name"] for row in list_tasks() if row["state"] == "FAILED"}
    assert "loud_failure" in failed
    assert "quiet_failure" not in failed


@actorium.remote(enable_task_events=False)
def quiet_waiter(gate):
    actorium.get(gate.wait.remote())


@actorium.remote
def loud_waiter(gate):
    actorium.get(gate.wait.remote())


def test_a_running_task_without_events_is_not_listed():
    gate = Gate.remote()
    refs = [quiet_waiter.remote(gate), loud_waiter.remote(gate)]
    try:
        eventually(lambda: any(row["name"] == "loud_waiter" and row["state"] == "RUNNING"
                               for row in list_tasks()), timeout=60)
        assert all(row["name"] != "quiet_waiter" for row in list_tasks())
    finally:
        actorium.get(gate.open.remote())
        actorium.get(refs)


@pytest.mark.parametrize("bad", [0, "no", None])
def test_the_option_takes_a_bool(bad):
    with pytest.raises(ValueError, match="enable_task_events must be True or False"):
        loud_task.options(enable_task_events=bad)
    with pytest.raises(ValueError, match="enable_task_events must be True or False"):
        LoudActor.options(enable_task_events=bad)


@actorium.virtual
class Meter(actorium.VirtualActor):
    """A virtual actor: its methods' @method(enable_task_events=...) counts as an actor's."""

    @actorium.method(enable_task_events=False)
    def quiet_read(self):
        return "quiet"

    def loud_read(self):
        return "loud"


def test_a_virtual_actors_method_without_events_runs_but_is_not_in_the_timeline():
    meter = Meter.get("m-1")
    actorium.get(meter.loud_read.remote())          # activated: its calls are counted alike
    before = summary()
    assert actorium.get([meter.quiet_read.remote(), meter.loud_read.remote()]) == \
        ["quiet", "loud"]
    names = _names_once_counted(calls=2, before=before)
    assert "Meter('m-1').loud_read" in names         # a virtual call is named by its key
    assert not any(str(name).endswith(".quiet_read") for name in names)


def test_retry_exceptions_on_a_virtual_actors_method_is_refused_naming_it():
    class Flaky(actorium.VirtualActor):
        @actorium.method(retry_exceptions=True)
        def read(self):
            return 1

    with pytest.raises(ValueError, match=r"retry_exceptions.*virtual actors.*Flaky\.read"):
        actorium.virtual(Flaky)
