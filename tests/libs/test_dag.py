"""actorium.dag: Ray's DAG API (bind/execute), its documented programs, and build-time checks."""

from __future__ import annotations

import asyncio

import pytest

import actorium as ray
from actorium.dag import (
    ClassMethodNode,
    ClassNode,
    DAGInputData,
    DAGNode,
    FunctionNode,
    InputNode,
    MultiOutputNode,
)

pytestmark = pytest.mark.usefixtures("runtime")


# Ray's guide program itself runs in test_ray_programs.py (ray_programs/dag_guide.py); the
# remote functions and classes below are its, reused by the tests of this module.
@ray.remote
def func(src, inc=1):
    return src + inc


@ray.remote
class Actor:
    def __init__(self, init_value):
        self.i = init_value

    def inc(self, x):
        self.i += x

    def get(self):
        return self.i


@ray.remote
def combine(x, y):
    return x + y


@ray.remote
def a(user_input):
    return user_input * 2


@ray.remote
def b(user_input):
    return user_input + 1


@ray.remote
def c(x, y):
    return x + y


@ray.remote
def f(input):
    return input + 1


@ray.remote
class Worker:
    def __init__(self):
        self.forwarded = 0

    def forward(self, input_data: int):
        self.forwarded += 1
        return input_data + 1

    def num_forwarded(self):
        return self.forwarded


@ray.remote
class Model:
    def __init__(self, val):
        self.val = val

    def forward(self, input):
        return self.val * input


def test_input_node_docstring_example_reads_args_kwargs_and_containers():
    with InputNode() as dag_input:
        m1 = Model.bind(1)
        m2 = Model.bind(2)
        m1_output = m1.forward.bind(dag_input[0])
        m2_output = m2.forward.bind(dag_input.x)
        ray_dag = combine.bind(m1_output, m2_output)
    assert ray.get(ray_dag.execute(1, x=2)) == 1 * 1 + 2 * 2

    class UserData:
        def __init__(self, x):
            self.x = x

        def __getitem__(self, index):
            return [5][index]

    assert ray.get(ray_dag.execute(UserData(x=3))) == 5 + 6
    with InputNode() as inp:
        listed = combine.bind(inp[0], inp[1])
        keyed = combine.bind(inp["m1"], inp["m2"])
    assert ray.get(listed.execute([1, 2])) == 3
    assert ray.get(keyed.execute({"m1": 1, "m2": 2})) == 3
    assert ray.get(listed.execute(4, 5)) == 9


# ---------------------------------------------------------------------- what execute yields
def test_execute_results_are_refs_handles_and_lists():
    assert isinstance(func.bind(1).execute(), ray.ObjectRef)
    handle = Actor.bind(3).execute()
    assert isinstance(handle, ray.ActorHandle)
    assert ray.get(handle.get.remote()) == 3
    assert isinstance(MultiOutputNode([func.bind(1)]).execute(), list)


def test_a_bound_actor_class_is_a_new_actor_each_execution():
    counter = Actor.bind(0)
    counter.inc.bind(1)
    total = counter.get.bind()
    assert [ray.get(total.execute()) for _ in range(3)] == [1, 1, 1]


def test_each_node_runs_once_per_execution_even_when_used_twice():
    worker = Worker.remote()
    with InputNode() as inp:
        shared = worker.forward.bind(inp)
        dag = combine.bind(shared, shared)
    assert ray.get(dag.execute(10)) == 22
    assert ray.get(worker.num_forwarded.remote()) == 1


def test_nodes_nested_in_containers_become_refs():
    @ray.remote
    def total(values, extra):
        return sum(ray.get(values)) + ray.get(extra["n"])   # nested refs stay refs (Ray)

    dag = total.bind([func.bind(1), func.bind(2)], {"n": func.bind(3)})
    assert ray.get(dag.execute()) == 2 + 3 + 4


def test_options_and_bound_options_apply():
    dag = func.options(num_cpus=1, max_retries=0).bind(5)
    assert ray.get(dag.execute()) == 6
    handle = Actor.options(name="dag-bound-actor").bind(7).execute()
    assert ray.get(ray.get_actor("dag-bound-actor").get.remote()) == 7
    ray.kill(handle)


@ray.remote
class Pair:
    @ray.method(num_returns=2)
    def split(self, value):
        return value, -value


def test_a_multi_return_method_on_a_handle_binds_one_node_per_return():
    pair = Pair.remote()
    with InputNode() as inp:
        first, second = pair.split.bind(inp)
    assert isinstance(first, ClassMethodNode) and first.is_class_method_output
    assert ray.get(MultiOutputNode([first, second]).execute(4)) == [4, -4]
    bound = Pair.bind().split.bind(3)
    assert ray.get(bound.execute()) == [3, -3]


def test_a_long_chain_does_not_hit_the_recursion_limit():
    node = func.bind(0)
    for _ in range(1500):
        node = func.bind(node)
    assert ray.get(node.execute(), timeout=120) == 1501


def test_errors_surface_when_the_ref_is_read():
    @ray.remote
    def boom(x):
        raise KeyError(x)

    dag = func.bind(boom.bind(1))
    with pytest.raises(KeyError):
        ray.get(dag.execute())


def test_execute_from_async_code():
    with InputNode() as inp:
        dag = combine.bind(a.bind(inp), b.bind(inp))

    async def main():
        return await dag.execute(4)

    assert asyncio.run(main()) == 13


# ---------------------------------------------------------------------- checked when built
def test_wrong_arguments_fail_at_bind():
    with pytest.raises(TypeError, match="func"):
        func.bind(1, 2, 3)
    with pytest.raises(TypeError, match="unexpected keyword"):
        func.bind(1, nope=2)
    with pytest.raises(TypeError, match="func"):
        func.options(num_cpus=1).bind()
    with pytest.raises(TypeError, match="__init__"):
        Actor.bind()
    with pytest.raises(TypeError, match="inc"):
        Actor.bind(1).inc.bind()
    with pytest.raises(TypeError, match="forward"):
        Worker.remote().forward.bind(1, 2)


def test_unknown_methods_and_options_fail_at_bind():
    with pytest.raises(AttributeError, match="no method 'nosuch'"):
        _ = Actor.bind(1).nosuch
    with pytest.raises(AttributeError, match=r"\.bind\(\) cannot be used again"):
        _ = Actor.bind(1).bind
    with pytest.raises(AttributeError, match="bind"):
        Actor.bind(1).get.remote()
    with pytest.raises(TypeError, match="unknown option"):
        Actor.bind(1).get.options(num_cpus=2)
    with pytest.raises(ValueError):
        func.options(num_cpus=-1)


def test_input_node_rules_are_checked_at_bind():
    with pytest.raises(ValueError, match="constructor"):
        with InputNode() as inp:
            Actor.bind(inp)
    with pytest.raises(ValueError, match="only one InputNode"):
        with InputNode() as first, InputNode() as second:
            combine.bind(first, second)
    with pytest.raises(ValueError, match="takes no arguments"):
        InputNode(1)
    with pytest.raises(ValueError, match="list"):
        MultiOutputNode(func.bind(1))


def test_execute_arguments_must_match_the_dag():
    with pytest.raises(TypeError, match="no InputNode"):
        func.bind(1).execute(5)
    with InputNode() as inp:
        dag = func.bind(inp.x)
    with pytest.raises(TypeError, match="InputNode"):
        dag.execute()
    with pytest.raises(AttributeError, match=r"input\.x"):
        dag.execute(3)


def test_rays_module_paths_hold_the_same_classes():
    from actorium.dag.input_node import InputNode as FromInputModule
    from actorium.dag.output_node import MultiOutputNode as FromOutputModule
    assert FromInputModule is InputNode and FromOutputModule is MultiOutputNode


def test_node_introspection_and_types():
    node = func.bind(1, inc=2)
    assert isinstance(node, FunctionNode) and isinstance(node, DAGNode)
    assert node.get_args() == (1,) and node.get_kwargs() == {"inc": 2}
    assert len(node.get_stable_uuid()) == 32
    assert isinstance(Actor.bind(1), ClassNode)
    assert "func" in repr(node)
    assert DAGInputData(1, x=2)[0] == 1 and DAGInputData(1, x=2)["x"] == 2
    with pytest.raises(NotImplementedError, match="execute"):
        node.experimental_compile()
