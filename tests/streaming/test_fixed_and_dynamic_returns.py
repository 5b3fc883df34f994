"""Generators called with num_returns=N or "dynamic" fail item by item, as in Ray 2.60.

Checked side by side with Ray (its doc program doc_code/generator.py, "generator errors"):
with num_returns=N the items before an exception are values and every later return holds
the exception; with "dynamic" the exception is one more, last, ref. Asking a function that
does not ``yield`` for "streaming" or "dynamic" is refused when the call is set up.
"""

from __future__ import annotations

import pytest

import actorium as ray
from actorium.exceptions import TaskError


@ray.remote
def two_then_error():
    for i in range(2):
        yield i
    raise KeyError("error after two")


@ray.remote
def yields(n: int):
    for i in range(n):
        yield i


@ray.remote
class Gen:
    def two_then_error(self):
        yield 0
        yield 1
        raise KeyError("error after two")

    async def async_two_then_error(self):
        yield 0
        yield 1
        raise KeyError("error after two")

    def plain(self) -> int:
        return 1


def _raises_key_error(ref) -> None:
    with pytest.raises(TaskError, match="error after two") as raised:
        ray.get(ref)
    assert isinstance(raised.value, KeyError)


# ---------------------------------------------------------------------- num_returns=N
def test_returns_after_the_exception_hold_it(runtime):
    ref1, ref2, ref3, ref4 = two_then_error.options(num_returns=4).remote()
    assert ray.get([ref1, ref2]) == [0, 1]
    _raises_key_error(ref3)
    _raises_key_error(ref4)


@pytest.mark.parametrize("method", ["two_then_error", "async_two_then_error"])
def test_an_actor_generator_with_num_returns_fails_item_by_item(runtime, method):
    gen = Gen.remote()
    first, second, third = getattr(gen, method).options(num_returns=3).remote()
    assert ray.get(first) == 0 and ray.get(second) == 1
    _raises_key_error(third)


def test_a_generator_that_ends_early_fails_the_missing_returns(runtime):
    first, second, third = yields.options(num_returns=3).remote(1)
    assert ray.get(first) == 0
    for missing in (second, third):
        with pytest.raises(ValueError, match="yielded 1 values.*num_returns=3"):
            ray.get(missing)


def test_values_past_num_returns_are_dropped(runtime):
    # Ray returns the first N and only logs the rest (ray-project/ray#28689).
    first, second = yields.options(num_returns=2).remote(5)
    assert ray.get([first, second]) == [0, 1]
    # Exactly N values and an exception after them: the N values stand.
    ref1, ref2 = two_then_error.options(num_returns=2).remote()
    assert ray.get([ref1, ref2]) == [0, 1]


def test_num_returns_one_returns_the_one_value(runtime):
    assert ray.get(yields.options(num_returns=1).remote(1)) == 0


# ---------------------------------------------------------------------- dynamic
def test_dynamic_stores_the_exception_in_the_last_ref(runtime):
    ref_generator = ray.get(two_then_error.options(num_returns="dynamic").remote())
    assert isinstance(ref_generator, ray.DynamicObjectRefGenerator)
    ref1, ref2, ref3 = ref_generator
    assert ray.get([ref1, ref2]) == [0, 1]
    _raises_key_error(ref3)


def test_dynamic_exception_before_any_item_is_the_one_ref(runtime):
    @ray.remote(num_returns="dynamic")
    def fails_at_once():
        raise KeyError("error after two")
        yield  # unreachable: makes it a generator

    (only,) = ray.get(fails_at_once.remote())
    _raises_key_error(only)


def test_an_actor_dynamic_generator_keeps_the_error_last(runtime):
    gen = Gen.remote()
    for method in (gen.two_then_error, gen.async_two_then_error):
        refs = list(ray.get(method.options(num_returns="dynamic").remote()))
        assert len(refs) == 3
        assert ray.get(refs[:2]) == [0, 1]
        _raises_key_error(refs[2])


def test_a_dynamic_generator_passes_to_a_task_as_ref_or_value(runtime):
    @ray.remote
    def total(ref_generator) -> int:
        assert isinstance(ref_generator, ray.DynamicObjectRefGenerator)
        return sum(ray.get(list(ref_generator)))

    dynamic_ref = yields.options(num_returns="dynamic").remote(5)
    assert ray.get(total.remote(dynamic_ref)) == 10
    assert ray.get(total.remote(ray.get(dynamic_ref))) == 10


# ---------------------------------------------------------------------- refused setups
@pytest.mark.parametrize("mode", ["streaming", "dynamic"])
def test_streaming_or_dynamic_needs_a_generator_function(runtime, mode):
    def not_a_generator():
        return [1, 2]

    with pytest.raises(ValueError, match=f"num_returns='{mode}' can only be used with "
                                         "generator functions"):
        ray.remote(num_returns=mode)(not_a_generator)
    task = ray.remote(not_a_generator)
    with pytest.raises(ValueError, match="not_a_generator"):
        task.options(num_returns=mode)
    with pytest.raises(ValueError, match="generator functions"):
        task.options(num_cpus=1).options(num_returns=mode)
    with pytest.raises(ValueError, match=r"Gen\.plain"):
        Gen.remote().plain.options(num_returns=mode)
    with pytest.raises(ValueError, match="generator functions"):
        ray.method(num_returns=mode)(not_a_generator)

