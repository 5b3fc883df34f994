"""Every option of ``remote(...)``, ``.options(...)`` and ``method(...)`` is implemented or
refused: none is accepted and ignored. The table was written from Ray 2.60's accepted sets
(ray/_common/ray_option_utils.py, ray.method), each row checked side by side in the Ray
virtualenv: where Ray refuses an option for a kind, so do we; where Ray accepts one that
actorium does not implement, the error names it and says what to do instead."""

from __future__ import annotations

import pytest
from polling import eventually

import actorium


def plain():
    return "ran"


class Plain:
    def method(self) -> str:
        return "ran"


def apply(kind: str, options: dict):
    if kind == "task":
        return actorium.remote(**options)(plain)
    if kind == "task .options()":
        return actorium.remote(plain).options(**options)
    if kind == "actor":
        return actorium.remote(**options)(Plain)
    if kind == "actor .options()":
        return actorium.remote(Plain).options(**options)
    if kind == "method":
        return actorium.method(**options)(Plain.method)
    raise AssertionError(kind)


# (kind, options, what the error says); Ray refuses these too.
REFUSED_AS_RAY_DOES = [
    ("task .options()", {"max_calls": 2}, "max_calls cannot be set in .options()"),
    ("task", {"max_restarts": 1}, "max_restarts is for actor classes"),
    ("task", {"lifetime": "detached"}, "lifetime is for actor classes"),
    ("actor", {"max_calls": 2}, "max_calls is for remote functions"),
    ("actor .options()", {"max_retries": 2}, "max_retries is for remote functions"),
    ("actor", {"num_returns": 2}, "num_returns is for remote functions"),
    ("actor", {"get_if_exists": True}, "get_if_exists needs a name"),
    ("method", {"max_restarts": 1}, "max_restarts is for actor classes"),
    ("task", {"object_store_memory": 10}, "object_store_memory of a remote function is not "
                                          "implemented"),
    ("task", {"bogus": 1}, "unknown option.*bogus"),
    ("actor", {"bogus": 1}, "unknown option.*bogus"),
    ("method", {"bogus": 1}, "unknown option.*bogus"),
]

# Ray accepts these; actorium does not implement them, and says so.
RAY_OPTIONS_NOT_IMPLEMENTED = [
    ("task", {"accelerator_type": "V100"}, "accelerator_type .* not implemented.*resources"),
    ("task", {"label_selector": {"zone": "a"}}, "label_selector .* not implemented"),
    ("actor", {"fallback_strategy": []}, "fallback_strategy .* not implemented"),
    ("task", {"_num_objects_per_yield": 4}, "_num_objects_per_yield .* not implemented"),
    ("actor", {"allow_out_of_order_execution": True},
     "allow_out_of_order_execution .* not implemented"),
    ("actor", {"enable_tensor_transport": True}, "enable_tensor_transport .* not implemented"),
    ("actor", {"placement_group": None}, "placement_group .* deprecated.*scheduling_strategy"),
    ("task .options()", {"placement_group_bundle_index": 0},
     "placement_group_bundle_index .*PlacementGroupSchedulingStrategy"),
    ("method", {"max_task_retries": 1}, "max_task_retries .* set max_task_retries on the actor"),
    ("method", {"tensor_transport": "nccl"}, "tensor_transport .* not implemented"),
]


@pytest.mark.parametrize(("kind", "options", "message"),
                         REFUSED_AS_RAY_DOES + RAY_OPTIONS_NOT_IMPLEMENTED,
                         ids=lambda v: v if isinstance(v, str) else None)
def test_an_option_that_would_be_ignored_is_refused_naming_it(kind, options, message):
    with pytest.raises(ValueError, match=message):
        apply(kind, options)


@pytest.mark.parametrize(("kind", "options"), [
    ("task", {"max_calls": 2}),
    ("task", {"memory": 0}),
    ("task", {"memory": 2**30}),
    ("actor", {"memory": None}),
    ("actor .options()", {"memory": 100}),
    ("actor", {"name": "a", "get_if_exists": True}),
    ("task .options()", {"name": "named"}),
    ("actor", {"max_pending_calls": 4}),
    ("actor .options()", {"max_pending_calls": -1}),
    ("task", {"enable_task_events": False}),
    ("actor", {"enable_task_events": False}),
    ("method", {"enable_task_events": False}),
])
def test_what_ray_accepts_and_we_implement_is_taken(kind, options):
    assert apply(kind, options) is not None


def failing():
    raise RuntimeError("report failed")


def test_a_task_name_is_the_name_the_state_api_lists(runtime):
    from actorium.util.state import list_tasks

    # The state API keeps failed tasks, with their errors: the failure is listed by name.
    ref = actorium.remote(max_retries=0)(failing).options(name="nightly-report").remote()
    with pytest.raises(RuntimeError, match="report failed"):
        runtime.get(ref, timeout=60)
    # Workers report finished tasks about once a second: wait for the report.
    names = eventually(lambda: {row["name"] for row in list_tasks(limit=10_000)}
                       if any(row["name"] == "nightly-report"
                              for row in list_tasks(limit=10_000)) else None)
    assert "failing" not in names
