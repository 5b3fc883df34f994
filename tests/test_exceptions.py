"""actorium.exceptions: one tree under ActoriumError, Ray's aliases, and every error pickles."""

from __future__ import annotations

import pickle

import cloudpickle
import pytest

import actorium
from actorium import exceptions
from actorium.exceptions import (
    ActivationError,
    ActorDiedError,
    ActorError,
    ActoriumError,
    BlockingCallInLoopError,
    GetTimeoutError,
    NodeDiedError,
    ObjectLostError,
    OutOfMemoryError,
    QueueEmptyError,
    QueueFullError,
    RuntimeEnvSetupError,
    RuntimeNotInitializedError,
    SerializationError,
    StaleActivationError,
    StateStoreError,
    TaskCancelledError,
    TaskError,
    TaskPlacementGroupRemoved,
    WorkerCrashedError,
    make_task_error,
)

ALL_ERRORS = [ActivationError, ActorDiedError, ActorError, BlockingCallInLoopError,
              GetTimeoutError, ObjectLostError, OutOfMemoryError, QueueEmptyError,
              QueueFullError, RuntimeEnvSetupError, RuntimeNotInitializedError,
              SerializationError, StaleActivationError, StateStoreError, TaskCancelledError,
              TaskError, TaskPlacementGroupRemoved, WorkerCrashedError, NodeDiedError]

PICKLERS = [pytest.param(pickle, id="pickle"), pytest.param(cloudpickle, id="cloudpickle")]


def roundtrip(pickler, error):
    return pickle.loads(pickler.dumps(error))


class TwoArgumentError(Exception):
    """An exception whose constructor takes two required arguments."""

    def __init__(self, code, detail):
        super().__init__(code, detail)
        self.code = code
        self.detail = detail


# ---------------------------------------------------------------------- the tree
@pytest.mark.parametrize("error_class", ALL_ERRORS, ids=lambda c: c.__name__)
def test_every_error_derives_from_actorium_error(error_class):
    assert issubclass(error_class, ActoriumError)
    assert issubclass(error_class, Exception)


def test_exceptions_module_exports_every_error_class():
    exported = {getattr(exceptions, name) for name in exceptions.__all__}
    assert set(ALL_ERRORS) | {ActoriumError} <= exported
    for name in exceptions.__all__:
        assert hasattr(exceptions, name), name


def test_actor_died_error_is_an_actor_error():
    assert issubclass(ActorDiedError, ActorError)


def test_get_timeout_error_is_also_a_builtin_timeout_error():
    assert issubclass(GetTimeoutError, TimeoutError)
    with pytest.raises(TimeoutError):
        raise GetTimeoutError("late")


def test_blocking_call_in_loop_error_is_a_runtime_error():
    assert issubclass(BlockingCallInLoopError, RuntimeError)


def test_serialization_error_is_a_type_error():
    assert issubclass(SerializationError, TypeError)


def test_ray_names_are_aliases_of_actorium_errors():
    assert exceptions.RayTaskError is TaskError
    assert exceptions.RayActorError is ActorError
    assert exceptions.RayError is ActoriumError
    assert issubclass(ActorDiedError, exceptions.RayActorError)


def test_exceptions_are_reachable_from_the_package():
    assert actorium.exceptions is exceptions


# ---------------------------------------------------------------------- TaskError
def test_task_error_is_also_an_instance_of_the_cause_class():
    error = make_task_error("compute", ValueError("bad input"), "Traceback: in compute")
    assert isinstance(error, TaskError)
    assert isinstance(error, ValueError)
    assert error.cause.args == ("bad input",)
    assert error.function_name == "compute"
    assert error.remote_traceback == "Traceback: in compute"


def test_task_error_message_names_the_function_the_cause_and_the_traceback():
    error = make_task_error("compute", KeyError("missing"), "Traceback: line 3 in compute")
    text = str(error)
    assert "compute" in text
    assert "KeyError" in text
    assert "missing" in text
    assert "line 3 in compute" in text


def test_task_error_of_an_exception_with_a_custom_constructor_keeps_its_fields():
    error = make_task_error("f", TwoArgumentError(7, "detail"), "tb")
    assert isinstance(error, TwoArgumentError)
    assert error.cause.code == 7
    assert error.cause.detail == "detail"


def test_task_error_wrapping_a_task_error_stays_a_task_error():
    inner = make_task_error("inner", ValueError("x"), "tb-inner")
    outer = make_task_error("outer", inner, "tb-outer")
    assert isinstance(outer, TaskError)
    assert outer.function_name == "outer"


def test_as_instanceof_cause_returns_a_dual_instance():
    plain = TaskError("f", IndexError("out of range"), "tb")
    assert not isinstance(plain, IndexError)
    dual = plain.as_instanceof_cause()
    assert isinstance(dual, IndexError)
    assert isinstance(dual, TaskError)


# ---------------------------------------------------------------------- pickling
@pytest.mark.parametrize("pickler", PICKLERS)
def test_task_error_pickles_with_its_fields_and_its_dual_class(pickler):
    error = make_task_error("compute", ValueError("bad input"), "Traceback: in compute")
    copy = roundtrip(pickler, error)
    assert isinstance(copy, TaskError)
    assert isinstance(copy, ValueError)
    assert copy.function_name == "compute"
    assert copy.remote_traceback == "Traceback: in compute"
    assert type(copy.cause) is ValueError
    assert copy.cause.args == ("bad input",)
    assert str(copy) == str(error)


@pytest.mark.parametrize("pickler", PICKLERS)
def test_task_error_of_a_custom_exception_pickles(pickler):
    error = make_task_error("f", TwoArgumentError(7, "detail"), "tb")
    copy = roundtrip(pickler, error)
    assert isinstance(copy, TwoArgumentError)
    assert copy.cause.code == 7
    assert copy.cause.detail == "detail"


@pytest.mark.parametrize("pickler", PICKLERS)
def test_actor_died_error_pickles_with_actor_id_and_cause(pickler):
    error = ActorDiedError("actor Counter died: killed", actor_id="ab12",
                           cause=ValueError("boom"))
    copy = roundtrip(pickler, error)
    assert type(copy) is ActorDiedError
    assert copy.message == "actor Counter died: killed"
    assert str(copy) == "actor Counter died: killed"
    assert copy.actor_id == "ab12"
    assert isinstance(copy.cause, ValueError)
    assert copy.cause.args == ("boom",)


@pytest.mark.parametrize("pickler", PICKLERS)
def test_actor_died_error_without_cause_pickles(pickler):
    copy = roundtrip(pickler, ActorDiedError("gone"))
    assert copy.message == "gone"
    assert copy.actor_id is None
    assert copy.cause is None


@pytest.mark.parametrize("pickler", PICKLERS)
def test_virtual_actor_errors_pickle_with_their_fields(pickler):
    activation = roundtrip(pickler, ActivationError("Meter('m1') could not be activated",
                                                    cause=KeyError("state")))
    assert type(activation) is ActivationError and isinstance(activation, ActorError)
    assert str(activation) == "Meter('m1') could not be activated"
    assert isinstance(activation.cause, KeyError)
    stale = roundtrip(pickler, StaleActivationError("refused", type_name="Meter", key="m1",
                                                    epoch=4))
    assert type(stale) is StaleActivationError and isinstance(stale, StateStoreError)
    assert (str(stale), stale.type_name, stale.key, stale.epoch) == ("refused", "Meter", "m1", 4)


@pytest.mark.parametrize("pickler", PICKLERS)
def test_task_cancelled_error_pickles_with_its_message(pickler):
    copy = roundtrip(pickler, TaskCancelledError("f was cancelled"))
    assert type(copy) is TaskCancelledError
    assert str(copy) == "f was cancelled"
    assert str(roundtrip(pickler, TaskCancelledError())) == "the task was cancelled"


@pytest.mark.parametrize("pickler", PICKLERS)
@pytest.mark.parametrize("error_class", [
    ActoriumError, ActorError, GetTimeoutError, WorkerCrashedError, NodeDiedError,
    ObjectLostError, OutOfMemoryError, RuntimeNotInitializedError, BlockingCallInLoopError,
    SerializationError, StateStoreError,
], ids=lambda c: getattr(c, "__name__", str(c)))
def test_message_only_errors_pickle_with_their_message(pickler, error_class):
    copy = roundtrip(pickler, error_class("some message 42"))
    assert type(copy) is error_class
    assert str(copy) == "some message 42"
    assert isinstance(copy, ActoriumError)
