"""Ray's module paths port as ``actorium.X``: ``from ray.X import Y`` -> ``from actorium.X``."""

from __future__ import annotations

import pickle
import time

import pytest

import actorium
from actorium import exceptions

RAY_EXCEPTION_NAMES = [
    "RayError", "RayTaskError", "RayActorError", "ActorDiedError", "ActorUnavailableError",
    "GetTimeoutError", "TaskCancelledError", "WorkerCrashedError", "OwnerDiedError",
    "ObjectLostError", "OutOfMemoryError", "ObjectStoreFullError", "PendingCallsLimitExceeded",
    "RuntimeEnvSetupError", "NodeDiedError",
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
               "PendingCallsLimitExceeded": exceptions.RayError,  # not an actor error, as Ray
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


@actorium.remote
class Named:
    def ping(self) -> str:
        return "pong"


def test_list_named_actors_lists_live_named_actors_as_ray(runtime):
    alive = Named.options(name="compat-alive").remote()
    other = Named.options(name="compat-other-ns", namespace="elsewhere").remote()
    killed = Named.options(name="compat-killed").remote()
    anonymous = Named.remote()
    actorium.get([a.ping.remote() for a in (alive, other, killed, anonymous)])
    actorium.kill(killed)
    names = actorium.list_named_actors()
    assert "compat-alive" in names
    assert "compat-other-ns" not in names      # another namespace
    everywhere = actorium.list_named_actors(all_namespaces=True)
    assert {"name": "compat-other-ns", "namespace": "elsewhere"} in everywhere
    for _ in range(100):                        # the kill is asynchronous
        if "compat-killed" not in actorium.list_named_actors():
            break
        time.sleep(0.1)
    assert "compat-killed" not in actorium.list_named_actors()
    for actor in (alive, other, anonymous):
        actorium.kill(actor)
