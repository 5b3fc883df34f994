"""The public API: exports, init/shutdown, @remote and its options, cluster facts, context."""

from __future__ import annotations

import os
import time

import pytest

import actorium
from actorium.exceptions import RuntimeNotInitializedError

PUBLIC_API = {
    "ActorClass", "ActorHandle", "ActorMethod", "DynamicObjectRefGenerator", "ObjectRef",
    "ObjectRefGenerator", "Reminder", "RemoteFunction",
    "RuntimeContext", "RuntimeInfo", "Supervisor", "SupervisorStatus", "VirtualActor",
    "VirtualActorClass", "VirtualOptions", "__version__", "actor", "available_resources",
    "cancel", "checkpoint", "cloudpickle", "cluster_resources", "exceptions", "exit_actor",
    "experimental", "get", "get_actor", "get_gpu_ids", "get_runtime_context", "init",
    "is_initialized", "kill", "list_named_actors", "method",
    "nodes", "put", "remote",
    "runtime_context", "runtime_env", "shutdown", "timeline", "twins", "util", "virtual",
    "wait",
}


@actorium.remote
def add(a, b=10):
    return a + b


@actorium.remote
class Box:
    def __init__(self, value):
        self.value = value

    def read(self):
        return self.value

    def write(self, value, *, note=""):
        self.value = value
        return note


@actorium.remote
def context_in_task():
    ctx = actorium.get_runtime_context()
    return ctx.get_node_id(), ctx.get_job_id(), ctx.get_actor_id(), ctx.get_task_id()


@actorium.remote
class ContextReporter:
    def ids(self):
        ctx = actorium.get_runtime_context()
        return ctx.get_actor_id(), ctx.get_task_id(), ctx.get_node_id(), ctx.get_job_id()


# ---------------------------------------------------------------------- exports
def test_all_lists_exactly_the_public_api():
    assert set(actorium.__all__) == PUBLIC_API
    assert len(actorium.__all__) == len(set(actorium.__all__))


def test_every_name_in_all_exists():
    for name in actorium.__all__:
        assert hasattr(actorium, name), name


def test_public_functions_have_docstrings():
    for name in actorium.__all__:
        value = getattr(actorium, name)
        if callable(value):
            assert value.__doc__, f"actorium.{name} has no docstring"


# ---------------------------------------------------------------------- init / shutdown
def test_is_initialized_is_false_before_init(no_runtime):
    assert actorium.is_initialized() is False


def test_init_then_shutdown_toggles_is_initialized(start_runtime):
    start_runtime(num_cpus=1)
    assert actorium.is_initialized() is True
    actorium.shutdown()
    assert actorium.is_initialized() is False


def test_shutdown_is_safe_without_init_and_twice(no_runtime):
    actorium.shutdown()
    actorium.shutdown()
    assert actorium.is_initialized() is False


def test_init_returns_the_node_and_session_it_started(start_runtime):
    info = start_runtime(num_cpus=1)
    assert info["node_id"] == actorium.get_runtime_context().get_node_id()
    assert os.path.isdir(info["session_dir"])
    assert info.address_info["node_id"] == info["node_id"]


def test_init_twice_raises_unless_reinit_errors_are_ignored(start_runtime):
    first = start_runtime(num_cpus=1)
    with pytest.raises(RuntimeError, match="already"):
        actorium.init(num_cpus=1)
    again = actorium.init(num_cpus=1, ignore_reinit_error=True)
    assert again["node_id"] == first["node_id"]


def test_init_rejects_unknown_arguments(no_runtime):
    with pytest.raises(TypeError, match="no_such_option"):
        actorium.init(num_cpus=1, no_such_option=True)
    assert not actorium.is_initialized()


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True])
def test_init_rejects_a_bad_cpu_count(no_runtime, bad):
    with pytest.raises(ValueError, match="num_cpus"):
        actorium.init(num_cpus=bad)
    assert not actorium.is_initialized()


def test_init_rejects_a_remote_address(no_runtime):
    with pytest.raises(ConnectionError):
        actorium.init("ray://10.0.0.1:10001", num_cpus=1)
    assert not actorium.is_initialized()


def test_init_accepts_ray_arguments_that_have_no_meaning_here(start_runtime):
    start_runtime(num_cpus=1, include_dashboard=False, log_to_driver=False)
    assert actorium.is_initialized()


def test_init_sets_cpus_and_custom_resources(start_runtime):
    start_runtime(num_cpus=3, resources={"accelerator": 2})
    total = actorium.cluster_resources()
    assert total["CPU"] == 3
    assert total["accelerator"] == 2


def test_init_sets_the_namespace(start_runtime):
    start_runtime(num_cpus=1, namespace="inventory")
    assert actorium.get_runtime_context().namespace == "inventory"
    assert actorium.get_runtime_context().get_namespace() == "inventory"


def test_runtime_info_as_context_manager_shuts_down(start_runtime):
    with start_runtime(num_cpus=1):
        assert actorium.get(add.remote(1, 2)) == 3
    assert not actorium.is_initialized()


# ---------------------------------------------------------------------- @remote
def test_remote_on_a_function_makes_a_remote_function():
    assert isinstance(add, actorium.RemoteFunction)
    assert add.__name__ == "add"


def test_remote_on_a_class_makes_an_actor_class():
    assert isinstance(Box, actorium.ActorClass)
    assert Box.__name__ == "Box"


def test_remote_with_options_decorates_functions_and_classes():
    @actorium.remote(num_cpus=1, num_returns=2, max_retries=1)
    def pair():
        return 1, 2

    @actorium.remote(num_cpus=0, max_restarts=1, max_task_retries=1, max_concurrency=2,
                     name="n", namespace="ns", lifetime="detached", resources={"r": 1},
                     scheduling_strategy="SPREAD")
    class Configured:
        pass

    assert isinstance(pair, actorium.RemoteFunction)
    assert isinstance(Configured, actorium.ActorClass)


def test_remote_rejects_a_target_and_options_together():
    with pytest.raises(TypeError):
        actorium.remote(lambda: 1, num_cpus=1)


def test_remote_rejects_something_that_is_neither_function_nor_class():
    with pytest.raises(TypeError, match="function or a class"):
        actorium.remote(42)


def test_calling_a_remote_function_directly_says_to_use_remote():
    with pytest.raises(TypeError, match=r"add.*\.remote\("):
        add(1, 2)


def test_calling_an_actor_class_directly_says_to_use_remote():
    with pytest.raises(TypeError, match=r"Box.*\.remote\("):
        Box(1)


def test_calling_an_actor_method_directly_says_to_use_remote(runtime):
    box = Box.remote(1)
    with pytest.raises(TypeError, match=r"read.*\.remote\("):
        box.read()


@pytest.mark.parametrize("options", [
    {"num_cpus": 0.5}, {"num_returns": 2}, {"max_retries": 0}, {"max_retries": -1},
    {"retry_exceptions": True}, {"retry_exceptions": [ValueError]}, {"resources": {"r": 1}},
    {"scheduling_strategy": "DEFAULT"}, {"scheduling_strategy": "SPREAD"},
])
def test_remote_function_accepts_valid_options(options):
    assert isinstance(actorium.remote(**options)(lambda: None), actorium.RemoteFunction)
    add.options(**options)  # .options() accepts them too


@pytest.mark.parametrize("option", ["num_cpu", "max_restarts", "colour"])
def test_unknown_task_option_is_a_value_error_naming_it(option):
    with pytest.raises(ValueError, match=option):
        actorium.remote(**{option: 1})(lambda: None)
    with pytest.raises(ValueError, match=option):
        add.options(**{option: 1})


@pytest.mark.parametrize("option", ["num_returns", "max_retries", "colour"])
def test_unknown_actor_option_is_a_value_error_naming_it(option):
    with pytest.raises(ValueError, match=option):
        actorium.remote(**{option: 1})(type("Plain", (), {}))
    with pytest.raises(ValueError, match=option):
        Box.options(**{option: 1})


@pytest.mark.parametrize(("option", "value"), [
    ("num_cpus", -1), ("num_cpus", "two"), ("num_returns", -1), ("num_returns", 1.5),
    ("max_retries", -2), ("max_retries", "3"), ("retry_exceptions", "yes"),
    ("scheduling_strategy", "ANYWHERE"), ("resources", {"CPU": 1}), ("resources", {"r": "1"}),
])
def test_bad_task_option_value_is_a_value_error_naming_it(option, value):
    with pytest.raises(ValueError, match=option.split("_")[0]):
        actorium.remote(**{option: value})(lambda: None)
    with pytest.raises(ValueError, match=option.split("_")[0]):
        add.options(**{option: value})


@pytest.mark.parametrize(("option", "value"), [
    ("num_cpus", -1), ("max_restarts", -2), ("max_task_retries", 1.0), ("max_concurrency", 0),
    ("name", ""), ("name", 5), ("namespace", ""), ("lifetime", "forever"),
    ("scheduling_strategy", "ANYWHERE"), ("resources", {"r": -1}),
])
def test_bad_actor_option_value_is_a_value_error_naming_it(option, value):
    with pytest.raises(ValueError, match=option):
        Box.options(**{option: value})


@pytest.mark.parametrize("value", [[1], "gpu"])
def test_resources_that_are_not_a_dict_are_a_value_error_naming_the_option(value):
    with pytest.raises(ValueError, match="resources"):
        add.options(resources=value)
    with pytest.raises(ValueError, match="resources"):
        Box.options(resources=value)


def test_unknown_method_option_is_a_value_error_naming_it():
    with pytest.raises(ValueError, match="max_retries"):
        actorium.method(max_retries=1)


def test_bad_method_num_returns_is_a_value_error():
    with pytest.raises(ValueError, match="num_returns"):
        actorium.method(num_returns=-1)


# ---------------------------------------------------------------------- signature checks
def test_wrong_task_arguments_fail_at_remote_time_naming_the_function(runtime):
    with pytest.raises(TypeError, match="add"):
        add.remote()
    with pytest.raises(TypeError, match="add"):
        add.remote(1, 2, 3)
    with pytest.raises(TypeError, match="add"):
        add.remote(1, c=3)
    with pytest.raises(TypeError, match="add"):
        add.options(num_cpus=1).remote(1, 2, 3)


def test_wrong_actor_constructor_arguments_fail_at_remote_time(runtime):
    with pytest.raises(TypeError, match="Box"):
        Box.remote()
    with pytest.raises(TypeError, match="Box"):
        Box.remote(1, 2)
    with pytest.raises(TypeError, match="Box"):
        Box.options(max_concurrency=2).remote(wrong=1)


def test_wrong_actor_method_arguments_fail_at_remote_time(runtime):
    box = Box.remote(1)
    with pytest.raises(TypeError, match="write"):
        box.write.remote()
    with pytest.raises(TypeError, match="write"):
        box.write.remote(1, "positional note")
    with pytest.raises(TypeError, match="read"):
        box.read.remote(1)
    # the actor is untouched by the rejected calls
    assert actorium.get(box.write.remote(2, note="ok")) == "ok"
    assert actorium.get(box.read.remote()) == 2


def test_right_arguments_pass_the_signature_check(runtime):
    assert actorium.get(add.remote(1)) == 11
    assert actorium.get(add.remote(1, b=2)) == 3
    assert actorium.get(add.remote(a=1, b=2)) == 3


# ---------------------------------------------------------------------- cluster facts
def test_cluster_resources_report_the_cpus_given_to_init(runtime):
    assert actorium.cluster_resources()["CPU"] == 2


def test_available_resources_shrink_while_a_cpu_is_reserved(runtime):
    @actorium.remote(num_cpus=1)
    class Reserving:
        def ping(self):
            return "pong"

    # Tasks of earlier tests give their CPU back when the node hears they finished, which
    # may be just after their result reached us: wait until every CPU is free.
    total = actorium.cluster_resources()["CPU"]
    deadline = time.monotonic() + 30
    while actorium.available_resources().get("CPU", 0) != total:
        assert time.monotonic() < deadline, "CPUs of earlier tests were never given back"
        time.sleep(0.05)
    before = total
    holder = Reserving.remote()
    assert actorium.get(holder.ping.remote(), timeout=20) == "pong"
    assert actorium.available_resources().get("CPU", 0) == before - 1
    actorium.kill(holder)


def test_nodes_lists_this_one_alive_node(runtime):
    nodes = actorium.nodes()
    assert len(nodes) == 1
    node = nodes[0]
    assert node["Alive"] is True
    assert node["NodeID"] == actorium.get_runtime_context().get_node_id()
    assert node["Resources"]["CPU"] == 2


def test_cluster_queries_need_a_runtime_when_auto_init_is_off(no_runtime, monkeypatch):
    monkeypatch.setenv("ACTORIUM_AUTO_INIT", "0")
    for query in (actorium.cluster_resources, actorium.available_resources, actorium.nodes,
                  actorium.get_runtime_context):
        with pytest.raises(RuntimeNotInitializedError):
            query()


# ---------------------------------------------------------------------- runtime context
def test_driver_context_has_node_and_job_but_no_actor(runtime):
    ctx = actorium.get_runtime_context()
    assert isinstance(ctx, actorium.RuntimeContext)
    assert len(ctx.get_node_id()) > 0
    assert len(ctx.get_job_id()) > 0
    assert ctx.get_actor_id() is None


def test_task_context_has_the_drivers_node_and_job_and_its_own_task_id(runtime):
    driver = actorium.get_runtime_context()
    first, second = actorium.get([context_in_task.remote(), context_in_task.remote()])
    for node_id, job_id, actor_id, task_id in (first, second):
        assert node_id == driver.get_node_id()
        assert job_id == driver.get_job_id()
        assert actor_id is None
        assert task_id
    assert first[3] != second[3]


def test_actor_context_reports_the_actors_id(runtime):
    reporter = ContextReporter.remote()
    actor_id, task_id, node_id, job_id = actorium.get(reporter.ids.remote())
    assert actor_id == reporter.actor_id
    assert task_id
    assert node_id == actorium.get_runtime_context().get_node_id()
    assert job_id == actorium.get_runtime_context().get_job_id()
    other = ContextReporter.remote()
    assert actorium.get(other.ids.remote())[0] == other.actor_id != actor_id


def test_task_id_inside_a_task_matches_its_ref(runtime):
    @actorium.remote
    def own_task_id():
        return actorium.get_runtime_context().get_task_id()

    ref = own_task_id.remote()
    assert actorium.get(ref) == ref.task_id()
