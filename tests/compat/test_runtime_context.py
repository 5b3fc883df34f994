"""``get_runtime_context()`` as Ray 2.60's, attribute by attribute, in the four places code
runs: the driver, a task, a sync actor and an async actor. Every expected value here is what
Ray returned for the same probe, run side by side in the Ray virtualenv (ids are opaque hex
strings of other lengths than Ray's; where Ray fails on a worker-only call made in a driver,
with an ``AssertionError``, the driver gets the empty answer: see docs/porting.md)."""

from __future__ import annotations

from typing import Any

import pytest

import actorium
from actorium.util.placement_group import placement_group, remove_placement_group
from actorium.util.scheduling_strategies import PlacementGroupSchedulingStrategy

pytestmark = pytest.mark.usefixtures("runtime")

PLACES = ["driver", "task", "sync actor", "async actor"]


def probe(attribute: str) -> Any:
    """The attribute (called, if a method) or ``("raises", type name)``."""
    context = actorium.get_runtime_context()
    try:
        value = getattr(context, attribute)
        return value() if callable(value) else value
    except Exception as error:  # noqa: BLE001 - the probe reports what it raised
        return ("raises", type(error).__name__)


@actorium.remote
def probe_task(attribute):
    return probe(attribute)


@actorium.remote(num_cpus=0.5)
class SyncProbe:
    def probe(self, attribute):
        return probe(attribute)


@actorium.remote
class AsyncProbe:
    async def probe(self, attribute):
        return probe(attribute)


def run(place: str, attribute: str, actor: Any = None) -> Any:
    if place == "driver":
        return probe(attribute)
    if place == "task":
        return actorium.get(probe_task.remote(attribute))
    if actor is not None:
        return actorium.get(actor.probe.remote(attribute))
    # A new actor each time (the sync one holds half a CPU: ended at once, not left to
    # pile up and starve the tasks of later tests).
    actor = (SyncProbe if place == "sync actor" else AsyncProbe).remote()
    try:
        return actorium.get(actor.probe.remote(attribute))
    finally:
        actorium.kill(actor)


def is_hex(value: Any) -> bool:
    return isinstance(value, str) and len(value) >= 8 and all(
        c in "0123456789abcdef" for c in value)


# ---------------------------------------------------------------------- ids
@pytest.mark.parametrize("place", PLACES)
def test_get_job_id_is_the_drivers_job_everywhere(place):
    job = actorium.get_runtime_context().get_job_id()
    assert is_hex(job)
    assert run(place, "get_job_id") == job


@pytest.mark.parametrize("place", PLACES)
def test_get_node_id_is_the_one_nodes_id_everywhere(place):
    node = run(place, "get_node_id")
    assert is_hex(node)
    assert node == actorium.get_runtime_context().get_node_id()


@pytest.mark.parametrize("place", PLACES[1:])
def test_get_worker_id_names_the_process_running_the_code(place):
    worker = run(place, "get_worker_id")
    assert is_hex(worker)
    assert worker != actorium.get_runtime_context().get_worker_id()  # not the driver's


def test_get_task_id_is_none_in_the_driver_and_one_per_call_elsewhere():
    assert run("driver", "get_task_id") is None
    for place in PLACES[1:]:
        first, second = run(place, "get_task_id"), run(place, "get_task_id")
        assert is_hex(first) and is_hex(second) and first != second


@pytest.mark.parametrize("place", PLACES)
def test_get_actor_id_names_the_running_actor_only(place):
    actor = None
    if place.endswith("actor"):
        actor = (SyncProbe if place == "sync actor" else AsyncProbe).remote()
    assert run(place, "get_actor_id", actor) == (actor.actor_id if actor else None)
    if actor is not None:
        actorium.kill(actor)


# ---------------------------------------------------------------------- the actor itself
@pytest.mark.parametrize("place", PLACES)
def test_get_actor_name_is_none_outside_an_actor_and_empty_for_an_unnamed_one(place):
    assert run(place, "get_actor_name") == (None if place in ("driver", "task") else "")


@pytest.mark.parametrize("cls", [SyncProbe, AsyncProbe])
def test_get_actor_name_is_the_name_the_actor_was_created_with(cls):
    actor = cls.options(name=f"probe-{cls.__name__}").remote()
    assert actorium.get(actor.probe.remote("get_actor_name")) == f"probe-{cls.__name__}"
    actorium.kill(actor)


@pytest.mark.parametrize("place", ["driver", "task"])
def test_current_actor_outside_an_actor_raises(place):
    assert run(place, "current_actor") == ("raises", "RuntimeError")


@actorium.remote
class SelfCaller:
    def __init__(self):
        self.from_init = actorium.get_runtime_context().current_actor

    def me(self):
        return actorium.get_runtime_context().current_actor

    def me_from_init(self):
        return self.from_init

    def answer(self):
        return 42


@actorium.remote
class AsyncSelfCaller:
    async def call_myself(self):
        me = actorium.get_runtime_context().current_actor
        return await me.answer.remote()

    async def answer(self):
        return 42


def test_current_actor_is_a_handle_to_the_running_actor():
    actor = SelfCaller.remote()
    handle = actorium.get(actor.me.remote())
    assert isinstance(handle, actorium.ActorHandle)
    assert handle == actor
    assert actorium.get(handle.answer.remote()) == 42
    assert actorium.get(actor.me_from_init.remote()) == actor  # in __init__ too
    actorium.kill(actor)


def test_an_async_actor_can_call_itself_through_current_actor():
    assert actorium.get(AsyncSelfCaller.remote().call_myself.remote(), timeout=60) == 42


@actorium.remote(max_restarts=1)
class Restartable:
    def reconstructed(self):
        return actorium.get_runtime_context().was_current_actor_reconstructed


@actorium.remote(max_restarts=1)
class AsyncRestartable:
    async def reconstructed(self):
        return actorium.get_runtime_context().was_current_actor_reconstructed


@pytest.mark.parametrize("cls", [Restartable, AsyncRestartable])
def test_was_current_actor_reconstructed_turns_true_after_a_restart(cls):
    actor = cls.remote()
    assert actorium.get(actor.reconstructed.remote()) is False
    actorium.kill(actor, no_restart=False)
    assert actorium.get(actor.reconstructed.remote(), timeout=60) is True
    actorium.kill(actor)


@pytest.mark.parametrize("place", ["driver", "task"])
def test_was_current_actor_reconstructed_is_false_outside_an_actor(place):
    assert run(place, "was_current_actor_reconstructed") is False


# ---------------------------------------------------------------------- the running call
@pytest.mark.parametrize("place", PLACES)
def test_is_canceled_raises_in_the_driver_and_is_false_in_a_call_not_cancelled(place):
    expected = ("raises", "RuntimeError") if place == "driver" else False
    assert run(place, "is_canceled") == expected


@pytest.mark.parametrize(("place", "expected"), [
    ("driver", {}), ("task", {"CPU": 1.0}), ("sync actor", {"CPU": 0.5}), ("async actor", {}),
])
def test_get_assigned_resources_is_what_the_code_reserved(place, expected):
    assert run(place, "get_assigned_resources") == expected


RAY_ACCELERATOR_KINDS = {"GPU", "TPU", "NPU", "HPU", "neuron_cores", "RBLN", "FURIOSA", "MBLT",
                         "TTNPU"}


@pytest.mark.parametrize("place", PLACES)
def test_get_accelerator_ids_has_every_kind_ray_names(place):
    ids = run(place, "get_accelerator_ids")
    assert set(ids) == RAY_ACCELERATOR_KINDS
    assert all(value == [] for value in ids.values())  # no GPU asked for


@pytest.mark.parametrize("place", PLACES)
def test_namespace_is_the_jobs_namespace(place):
    assert run(place, "namespace") == actorium.get_runtime_context().namespace


@pytest.mark.parametrize(("place", "expected"), [
    ("driver", None), ("task", "probe_task"), ("sync actor", "SyncProbe.probe"),
    ("async actor", "AsyncProbe.probe"),
])
def test_get_task_name_names_the_running_task_or_method(place, expected):
    assert run(place, "get_task_name") == expected


def test_get_task_name_is_the_name_option_and_a_named_actors_init_is_prefixed():
    named = probe_task.options(name="custom-name").remote("get_task_name")
    assert actorium.get(named) == "custom-name"
    actor = NameInInit.options(name="init-named").remote()
    assert actorium.get(actor.names.remote()) == ("init-named:NameInInit.__init__",
                                                  f"{__name__}.NameInInit.__init__")
    actorium.kill(actor)


@actorium.remote
class NameInInit:
    def __init__(self):
        context = actorium.get_runtime_context()
        self.seen = (context.get_task_name(), context.get_task_function_name())

    def names(self):
        return self.seen


@pytest.mark.parametrize(("place", "expected"), [
    ("driver", None), ("task", f"{__name__}.probe_task"),
    ("sync actor", f"{__name__}.SyncProbe.probe"),
    ("async actor", f"{__name__}.AsyncProbe.probe"),
])
def test_get_task_function_name_is_the_module_and_qualified_name(place, expected):
    assert run(place, "get_task_function_name") == expected


def test_get_task_function_name_ignores_the_name_option():
    named = probe_task.options(name="custom-name").remote("get_task_function_name")
    assert actorium.get(named) == f"{__name__}.probe_task"


# ---------------------------------------------------------------------- placement, env
@pytest.mark.parametrize("place", PLACES)
def test_outside_a_placement_group_there_is_no_group_id_and_no_capture(place):
    assert run(place, "get_placement_group_id") is None
    assert run(place, "should_capture_child_tasks_in_placement_group") is False


@pytest.mark.parametrize("capture", [True, False])
def test_in_a_placement_group_the_id_and_capture_are_the_groups(capture):
    group = placement_group([{"CPU": 1}])
    actorium.get(group.ready(), timeout=60)
    try:
        strategy = PlacementGroupSchedulingStrategy(
            group, placement_group_capture_child_tasks=capture)
        task = probe_task.options(scheduling_strategy=strategy)
        assert actorium.get(task.remote("get_placement_group_id")) == group.id.hex()
        assert actorium.get(
            task.remote("should_capture_child_tasks_in_placement_group")) is capture
    finally:
        remove_placement_group(group)


@pytest.mark.parametrize("place", PLACES)
def test_runtime_env_is_a_runtime_env_empty_without_one(place):
    from actorium.runtime_env import RuntimeEnv

    env = run(place, "runtime_env")
    assert isinstance(env, RuntimeEnv)
    assert dict(env) == {}


def test_runtime_env_is_the_tasks_own():
    task = probe_task.options(runtime_env={"env_vars": {"PROBE": "1"}})
    assert dict(actorium.get(task.remote("runtime_env"), timeout=120)) == {
        "env_vars": {"PROBE": "1"}}
