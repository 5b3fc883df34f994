"""Ray's module paths port as ``actorium.X``: ``from ray.X import Y`` -> ``from actorium.X``."""

from __future__ import annotations

import pickle

import pytest

import actorium
from actorium import exceptions

RAY_EXCEPTION_NAMES = [
    "RayError", "RayTaskError", "RayActorError", "ActorDiedError", "ActorUnavailableError",
    "GetTimeoutError", "TaskCancelledError", "WorkerCrashedError", "OwnerDiedError",
    "ObjectLostError", "OutOfMemoryError", "ObjectStoreFullError", "PendingCallsLimitExceeded",
    "RuntimeEnvSetupError",
]


@pytest.mark.parametrize("name", RAY_EXCEPTION_NAMES)
def test_every_exception_name_of_rays_docs_is_in_the_one_tree(name):
    error_class = getattr(exceptions, name)
    assert issubclass(error_class, exceptions.RayError)
    assert name in exceptions.__all__


@pytest.mark.parametrize("name", ["ActorUnavailableError", "PendingCallsLimitExceeded",
                                  "OwnerDiedError", "ObjectStoreFullError"])
def test_rays_finer_names_pickle_and_are_caught_by_their_parents(name):
    error = getattr(exceptions, name)("boom")
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is type(error) and str(again) == "boom"
    parents = {"ActorUnavailableError": exceptions.RayActorError,
               "PendingCallsLimitExceeded": exceptions.RayActorError,
               "OwnerDiedError": exceptions.ObjectLostError,
               "ObjectStoreFullError": exceptions.OutOfMemoryError}
    assert isinstance(again, parents[name])


def test_actorium_actor_is_rays_ray_actor():
    from actorium.actor import ActorClass, ActorHandle, exit_actor

    assert ActorClass is actorium.ActorClass
    assert ActorHandle is actorium.ActorHandle
    assert exit_actor is actorium.exit_actor


def test_actorium_runtime_context_is_rays_ray_runtime_context():
    from actorium.runtime_context import RuntimeContext, get_runtime_context

    assert RuntimeContext is actorium.RuntimeContext
    assert get_runtime_context is actorium.get_runtime_context


def test_actorium_cloudpickle_pickles_a_lambda_like_rays():
    from actorium import cloudpickle

    square = cloudpickle.loads(cloudpickle.dumps(lambda x: x * x))
    assert square(7) == 49
