"""Failures surface as clear errors, never as hangs: task errors, bad input, timeouts,
cancellation, retries, and processes that die."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

import actorium
from actorium.exceptions import (
    ActorDiedError,
    ActoriumError,
    GetTimeoutError,
    ObjectLostError,
    RuntimeNotInitializedError,
    SerializationError,
    TaskCancelledError,
    TaskError,
    WorkerCrashedError,
)


class TwoArgumentError(Exception):
    def __init__(self, code, detail):
        super().__init__(code, detail)
        self.code = code
        self.detail = detail


@actorium.remote
def divide(a, b):
    return a / b


@actorium.remote
def raise_key_error():
    raise KeyError("missing-key")


@actorium.remote
def raise_two_argument_error():
    raise TwoArgumentError(7, "detail")


@actorium.remote
def identity(value):
    return value


@actorium.remote
def sleep_then_return(seconds, value="done"):
    time.sleep(seconds)
    return value


@actorium.remote
def return_a_lock():
    return threading.Lock()


@actorium.remote
def count_attempt_then_fail(path, failures, error="value"):
    """Appends a line to ``path`` per attempt; raises on the first ``failures`` attempts."""
    with open(path, "a") as file:
        file.write("x\n")
    attempts = len(Path(path).read_text().splitlines())
    if attempts <= failures:
        raise ValueError(f"attempt {attempts}") if error == "value" else KeyError(attempts)
    return attempts


@actorium.remote
def kill_own_worker_then_succeed(path, kills):
    """SIGKILLs its own worker process on the first ``kills`` attempts."""
    with open(path, "a") as file:
        file.write(f"{os.getpid()}\n")
    attempts = len(Path(path).read_text().splitlines())
    if attempts <= kills:
        os.kill(os.getpid(), signal.SIGKILL)
    return attempts


@actorium.remote
def put_large_value_inside_the_task():
    """The value is owned by this task's worker (too large to travel inline with the ref)."""
    return [actorium.put(b"v" * 300_000), os.getpid()]


@actorium.remote
def touch_then_sleep(path, seconds):
    Path(path).write_text("ran")
    time.sleep(seconds)
    return "finished"


@actorium.remote
def busy_python_loop(seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.01)
    return "not cancelled"


@actorium.remote
class Fragile:
    def __init__(self):
        self.calls = 0

    def fail(self):
        self.calls += 1
        raise ValueError("method failed")

    def count(self):
        self.calls += 1
        return self.calls

    def exit_process(self):
        os._exit(1)

    def sleep(self, seconds):
        time.sleep(seconds)
        return seconds

    def pid(self):
        return os.getpid()

    def take(self, value):
        return value


@actorium.remote
class BrokenConstructor:
    def __init__(self, reason):
        raise ValueError(f"cannot start: {reason}")

    def ping(self):
        return "pong"


# ---------------------------------------------------------------------- task errors
class TestTaskErrors:
    pytestmark = pytest.mark.usefixtures("runtime")

    def test_get_raises_a_task_error_that_is_also_the_original_exception(self):
        with pytest.raises(ZeroDivisionError) as info:
            actorium.get(divide.remote(1, 0))
        error = info.value
        assert isinstance(error, TaskError)
        assert isinstance(error, ActoriumError)
        assert isinstance(error.cause, ZeroDivisionError)

    def test_the_task_error_carries_the_remote_traceback_naming_the_function(self):
        with pytest.raises(TaskError) as info:
            actorium.get(raise_key_error.remote())
        assert "raise_key_error" in info.value.remote_traceback
        assert "missing-key" in info.value.remote_traceback
        assert "raise_key_error" in str(info.value)

    def test_except_clauses_for_the_original_class_catch_remote_errors(self):
        try:
            actorium.get(raise_key_error.remote())
        except KeyError as exc:
            caught = exc
        assert isinstance(caught, TaskError)

    def test_ray_task_error_alias_catches_task_errors(self):
        with pytest.raises(actorium.exceptions.RayTaskError):
            actorium.get(divide.remote(1, 0))

    @pytest.mark.timeout(30)
    def test_an_exception_with_a_custom_constructor_reaches_the_caller(self):
        with pytest.raises(TwoArgumentError) as info:
            actorium.get(raise_two_argument_error.remote(), timeout=5)
        assert info.value.cause.code == 7
        assert info.value.cause.detail == "detail"

    def test_an_error_propagates_to_tasks_that_depend_on_the_failed_result(self):
        failed = divide.remote(1, 0)
        dependent = identity.remote(failed)
        with pytest.raises(ZeroDivisionError) as info:
            actorium.get(dependent, timeout=20)
        assert "divide" in info.value.remote_traceback
        # A ref inside a list is passed on as a ref (as in Ray): the error comes with its get.
        (passed_on,) = actorium.get(identity.remote([failed]), timeout=20)
        with pytest.raises(ZeroDivisionError):
            actorium.get(passed_on, timeout=20)

    def test_get_of_a_list_raises_the_first_error_it_meets(self):
        with pytest.raises(ZeroDivisionError):
            actorium.get([divide.remote(4, 2), divide.remote(1, 0)])

    def test_an_actor_method_error_is_a_task_error_and_the_actor_lives_on(self):
        actor = Fragile.remote()
        with pytest.raises(ValueError, match="method failed") as info:
            actorium.get(actor.fail.remote())
        assert isinstance(info.value, TaskError)
        assert "fail" in info.value.remote_traceback
        assert actorium.get(actor.count.remote()) == 2

    def test_an_exception_in_the_constructor_surfaces_as_actor_died_error_with_the_cause(self):
        actor = BrokenConstructor.remote("no database")
        with pytest.raises(ActorDiedError, match="no database") as info:
            actorium.get(actor.ping.remote(), timeout=20)
        assert "ValueError" in str(info.value)
        with pytest.raises(ActorDiedError, match="no database"):
            actorium.get(actor.ping.remote(), timeout=20)

    def test_calling_a_method_the_actor_lacks_is_an_attribute_error_naming_it(self):
        actor = Fragile.remote()
        with pytest.raises(AttributeError, match="no_such_method"):
            actor.no_such_method.remote()
        with pytest.raises(AttributeError, match="no_such_method"):
            actor.no_such_method  # noqa: B018

    def test_a_task_returning_the_wrong_number_of_values_names_the_function(self):
        @actorium.remote(num_returns=2)
        def one_value():
            return 1

        first, _second = one_value.remote()
        with pytest.raises(ValueError, match="one_value"):
            actorium.get(first)

    # ------------------------------------------------------------------ bad input
    def test_an_unpicklable_argument_is_rejected_at_remote_time_naming_it(self):
        with pytest.raises(SerializationError, match="argument 0") as info:
            identity.remote(threading.Lock())
        assert isinstance(info.value, TypeError)
        assert "identity" in str(info.value)

    def test_an_unpicklable_keyword_argument_is_rejected_naming_the_keyword(self):
        @actorium.remote
        def takes_keyword(value=None):
            return value

        with pytest.raises(TypeError, match="'value'"):
            takes_keyword.remote(value=threading.Lock())

    def test_an_unpicklable_actor_argument_is_rejected_naming_the_method(self):
        actor = Fragile.remote()
        with pytest.raises(SerializationError, match="take"):
            actor.take.remote(threading.Lock())
        assert actorium.get(actor.count.remote()) == 1  # nothing was sent

    def test_an_unpicklable_constructor_argument_is_rejected_naming_the_class(self):
        with pytest.raises(SerializationError, match="BrokenConstructor"):
            BrokenConstructor.remote(threading.Lock())

    def test_an_unpicklable_return_value_is_a_serialization_error_on_get(self):
        with pytest.raises(SerializationError, match="lock"):
            actorium.get(return_a_lock.remote(), timeout=20)

    def test_a_remote_function_capturing_a_lock_is_rejected_naming_it(self):
        lock = threading.Lock()

        @actorium.remote
        def uses_lock():
            with lock:
                return 1

        with pytest.raises(SerializationError, match="uses_lock"):
            uses_lock.remote()

    @pytest.mark.parametrize("not_a_ref", [5, "ref", None, [5], [object()]])
    def test_get_of_something_that_is_not_a_ref_is_a_type_error(self, not_a_ref):
        with pytest.raises(TypeError):
            actorium.get(not_a_ref)

    def test_get_of_a_list_mixing_refs_and_values_is_a_type_error(self):
        with pytest.raises(TypeError, match="int"):
            actorium.get([identity.remote(1), 2])

    def test_get_with_a_negative_timeout_is_a_value_error(self):
        with pytest.raises(ValueError, match="timeout"):
            actorium.get(identity.remote(1), timeout=-1)

    def test_put_of_a_ref_is_a_type_error(self):
        with pytest.raises(TypeError):
            actorium.put(identity.remote(1))

    # ------------------------------------------------------------------ timeouts
    @pytest.mark.timeout(30)
    def test_get_with_a_timeout_on_a_slow_task_raises_get_timeout_error(self):
        ref = sleep_then_return.remote(1.5, "eventually")
        started = time.monotonic()
        with pytest.raises(GetTimeoutError) as info:
            actorium.get(ref, timeout=0.1)
        assert time.monotonic() - started < 1.0
        assert isinstance(info.value, TimeoutError)
        assert actorium.get(ref, timeout=20) == "eventually"  # the task kept running

    def test_get_with_timeout_zero_returns_ready_values(self):
        ref = identity.remote(3)
        actorium.wait([ref], timeout=20)
        assert actorium.get(ref, timeout=0) == 3

    def test_a_task_that_can_never_fit_fails_instead_of_waiting_forever(self):
        @actorium.remote(num_cpus=16)
        def huge():
            return 1

        with pytest.raises(ValueError, match="never"):
            actorium.get(huge.remote(), timeout=20)

    def test_a_task_needing_an_unknown_resource_fails_instead_of_waiting(self):
        @actorium.remote(resources={"unicorn": 1})
        def magical():
            return 1

        with pytest.raises(ValueError, match="unicorn"):
            actorium.get(magical.remote(), timeout=20)

    def test_an_actor_that_can_never_fit_fails_its_calls(self):
        actor = Fragile.options(num_cpus=16).remote()
        with pytest.raises(ActorDiedError):
            actorium.get(actor.count.remote(), timeout=20)


# ---------------------------------------------------------------------- after shutdown
class TestAfterShutdown:
    def test_get_after_shutdown_raises_runtime_not_initialized(self, start_runtime):
        start_runtime(num_cpus=1)
        ref = identity.remote(1)
        assert actorium.get(ref) == 1
        actorium.shutdown()
        with pytest.raises(RuntimeNotInitializedError) as info:
            actorium.get(ref)
        assert isinstance(info.value, ActoriumError)
        assert "init" in str(info.value)

    def test_remote_put_and_wait_after_shutdown_raise_when_auto_init_is_off(
            self, start_runtime, monkeypatch):
        start_runtime(num_cpus=1)
        ref = identity.remote(1)
        actorium.get(ref)
        actorium.shutdown()
        monkeypatch.setenv("ACTORIUM_AUTO_INIT", "0")   # else they start a new runtime
        with pytest.raises(RuntimeNotInitializedError):
            identity.remote(2)
        with pytest.raises(RuntimeNotInitializedError):
            actorium.put(3)
        with pytest.raises(RuntimeNotInitializedError):
            actorium.wait([ref])
        with pytest.raises(RuntimeNotInitializedError):
            Fragile.remote()

    def test_remote_before_init_raises_when_auto_init_is_off(self, no_runtime, monkeypatch):
        monkeypatch.setenv("ACTORIUM_AUTO_INIT", "0")
        with pytest.raises(RuntimeNotInitializedError):
            identity.remote(1)

    @pytest.mark.timeout(30)
    def test_a_get_blocked_in_another_thread_fails_when_shutdown_happens(self, start_runtime):
        start_runtime(num_cpus=1)
        ref = sleep_then_return.remote(30)
        outcome = []

        def waiter():
            try:
                outcome.append(actorium.get(ref))
            except BaseException as exc:  # noqa: BLE001
                outcome.append(exc)

        thread = threading.Thread(target=waiter)
        thread.start()
        time.sleep(0.3)
        actorium.shutdown()
        thread.join(timeout=10)
        assert not thread.is_alive(), "get() still blocked after shutdown()"
        assert isinstance(outcome[0], RuntimeNotInitializedError)


# ---------------------------------------------------------------------- cancel
class TestCancel:
    pytestmark = pytest.mark.usefixtures("runtime")

    @pytest.mark.timeout(30)
    def test_cancel_of_a_queued_task_means_it_never_runs(self, tmp_path):
        blockers = [sleep_then_return.remote(1.0) for _ in range(2)]  # both CPUs busy
        marker = tmp_path / "ran"
        queued = touch_then_sleep.remote(str(marker), 0)
        time.sleep(0.2)
        actorium.cancel(queued)
        with pytest.raises(TaskCancelledError):
            actorium.get(queued, timeout=10)
        assert actorium.get(blockers, timeout=20) == ["done", "done"]
        time.sleep(0.2)
        assert not marker.exists(), "the cancelled task ran anyway"

    @pytest.mark.timeout(30)
    def test_cancel_of_a_running_sync_task_raises_task_cancelled_error(self):
        ref = busy_python_loop.remote(20)
        time.sleep(0.5)
        started = time.monotonic()
        actorium.cancel(ref)
        with pytest.raises(TaskCancelledError):
            actorium.get(ref, timeout=10)
        assert time.monotonic() - started < 5
        assert actorium.get(identity.remote("after"), timeout=20) == "after"

    @pytest.mark.timeout(30)
    def test_cancel_of_a_finished_task_changes_nothing(self):
        ref = identity.remote("kept")
        assert actorium.get(ref) == "kept"
        actorium.cancel(ref)
        assert actorium.get(ref) == "kept"

    @pytest.mark.timeout(30)
    def test_cancel_of_a_queued_actor_call_skips_it(self):
        actor = Fragile.remote()
        actorium.get(actor.pid.remote(), timeout=20)  # placed and constructed
        running = actor.sleep.remote(0.5)
        queued = actor.count.remote()
        time.sleep(0.1)
        actorium.cancel(queued)
        with pytest.raises(TaskCancelledError):
            actorium.get(queued, timeout=10)
        assert actorium.get(running, timeout=10) == 0.5
        assert actorium.get(actor.count.remote(), timeout=10) == 1  # the cancelled one never ran

    def test_cancel_rejects_something_that_is_not_a_ref(self):
        with pytest.raises(TypeError):
            actorium.cancel("ref")


@pytest.mark.timeout(30)
def test_cancel_of_a_call_to_an_actor_not_yet_placed_skips_it(start_runtime):
    start_runtime(num_cpus=1)
    holder = Fragile.options(num_cpus=1).remote()
    actorium.get(holder.count.remote(), timeout=20)  # holds the only CPU
    waiting = Fragile.options(num_cpus=1).remote()   # cannot be placed yet
    queued = waiting.count.remote()
    actorium.cancel(queued)
    actorium.kill(holder)                             # now it can be placed
    with pytest.raises(TaskCancelledError):
        actorium.get(queued, timeout=10)
    assert actorium.get(waiting.count.remote(), timeout=20) == 1


@pytest.mark.timeout(30)
def test_force_cancel_of_a_sleeping_task_ends_it_and_the_runtime_recovers(start_runtime):
    start_runtime(num_cpus=1)
    ref = sleep_then_return.remote(30)
    time.sleep(0.5)
    started = time.monotonic()
    actorium.cancel(ref, force=True)
    with pytest.raises(TaskCancelledError):
        actorium.get(ref, timeout=10)
    assert time.monotonic() - started < 5
    assert actorium.get(identity.remote("recovered"), timeout=20) == "recovered"


# ---------------------------------------------------------------------- retries
class TestRetries:
    pytestmark = pytest.mark.usefixtures("runtime")

    def test_application_errors_are_not_retried_by_default(self, tmp_path):
        attempts = tmp_path / "attempts"
        with pytest.raises(ValueError, match="attempt 1"):
            actorium.get(count_attempt_then_fail.options(max_retries=3).remote(
                str(attempts), 5), timeout=20)
        assert len(attempts.read_text().splitlines()) == 1

    def test_retry_exceptions_true_retries_until_success(self, tmp_path):
        attempts = tmp_path / "attempts"
        ref = count_attempt_then_fail.options(max_retries=3, retry_exceptions=True).remote(
            str(attempts), 2)
        assert actorium.get(ref, timeout=20) == 3
        assert len(attempts.read_text().splitlines()) == 3

    def test_retry_exceptions_gives_up_after_max_retries(self, tmp_path):
        attempts = tmp_path / "attempts"
        ref = count_attempt_then_fail.options(max_retries=2, retry_exceptions=True).remote(
            str(attempts), 10)
        with pytest.raises(ValueError, match="attempt 3"):
            actorium.get(ref, timeout=20)
        assert len(attempts.read_text().splitlines()) == 3

    def test_retry_exceptions_list_retries_only_those_classes(self, tmp_path):
        retried = tmp_path / "retried"
        ref = count_attempt_then_fail.options(max_retries=3, retry_exceptions=[ValueError]
                                              ).remote(str(retried), 1)
        assert actorium.get(ref, timeout=20) == 2
        not_retried = tmp_path / "not_retried"
        ref = count_attempt_then_fail.options(max_retries=3, retry_exceptions=[ValueError]
                                              ).remote(str(not_retried), 1, "key")
        with pytest.raises(KeyError):
            actorium.get(ref, timeout=20)
        assert len(not_retried.read_text().splitlines()) == 1


# ---------------------------------------------------------------------- dying processes
@pytest.mark.timeout(60)
def test_a_task_whose_worker_is_killed_is_retried_and_succeeds(start_runtime, tmp_path):
    start_runtime(num_cpus=2)
    attempts = tmp_path / "attempts"
    ref = kill_own_worker_then_succeed.options(max_retries=3).remote(str(attempts), 2)
    assert actorium.get(ref, timeout=45) == 3
    pids = attempts.read_text().split()
    assert len(pids) == 3
    assert len(set(pids[:2])) == 2, "each killed attempt ran in a worker of its own"


@pytest.mark.timeout(60)
def test_a_task_whose_worker_is_killed_with_no_retries_left_raises_worker_crashed(
        start_runtime, tmp_path):
    start_runtime(num_cpus=1)
    attempts = tmp_path / "attempts"
    ref = kill_own_worker_then_succeed.options(max_retries=0).remote(str(attempts), 5)
    with pytest.raises(WorkerCrashedError) as info:
        actorium.get(ref, timeout=30)
    assert "kill_own_worker_then_succeed" in str(info.value)
    assert len(attempts.read_text().splitlines()) == 1
    assert actorium.get(identity.remote("pool refilled"), timeout=30) == "pool refilled"


@pytest.mark.timeout(60)
def test_tasks_are_retried_three_times_by_default_when_workers_die(start_runtime, tmp_path):
    start_runtime(num_cpus=1)
    attempts = tmp_path / "attempts"
    with pytest.raises(WorkerCrashedError):
        actorium.get(kill_own_worker_then_succeed.remote(str(attempts), 100), timeout=45)
    assert len(attempts.read_text().splitlines()) == 4


@pytest.mark.timeout(60)
def test_an_actor_whose_process_exits_fails_the_call_instead_of_hanging(start_runtime):
    start_runtime(num_cpus=1)
    actor = Fragile.remote()
    assert actorium.get(actor.count.remote(), timeout=20) == 1
    started = time.monotonic()
    with pytest.raises(ActorDiedError):
        actorium.get(actor.exit_process.remote(), timeout=20)
    assert time.monotonic() - started < 10
    with pytest.raises(ActorDiedError):
        actorium.get(actor.count.remote(), timeout=20)
    replacement = Fragile.remote()
    assert actorium.get(replacement.count.remote(), timeout=20) == 1


@pytest.mark.timeout(60)
def test_an_actor_whose_dedicated_process_dies_fails_queued_and_later_calls(start_runtime):
    start_runtime(num_cpus=2)
    actor = Fragile.options(num_cpus=1).remote()
    assert actorium.get(actor.count.remote(), timeout=20) == 1
    dying = actor.exit_process.remote()
    queued_behind = [actor.count.remote() for _ in range(3)]
    for ref in [dying, *queued_behind]:
        with pytest.raises(ActorDiedError, match="exited with code 1"):
            actorium.get(ref, timeout=20)
    with pytest.raises(ActorDiedError):
        actorium.get(actor.count.remote(), timeout=20)
    # its CPU is free again: another dedicated actor fits
    assert actorium.get(Fragile.options(num_cpus=2).remote().count.remote(), timeout=20) == 1


@pytest.mark.timeout(60)
def test_an_actor_with_restarts_comes_back_after_its_process_dies(start_runtime):
    start_runtime(num_cpus=2)
    actor = Fragile.options(max_restarts=1).remote()
    first_pid = actorium.get(actor.pid.remote(), timeout=20)
    with pytest.raises(ActorDiedError):
        actorium.get(actor.exit_process.remote(), timeout=20)
    deadline = time.monotonic() + 20
    while True:
        try:
            count = actorium.get(actor.count.remote(), timeout=20)
            break
        except ActorDiedError:
            assert time.monotonic() < deadline, "the actor never came back"
            time.sleep(0.05)
    assert count == 1  # a fresh instance
    assert actorium.get(actor.pid.remote(), timeout=20) != first_pid


@pytest.mark.timeout(60)
def test_a_worker_killed_from_outside_fails_its_actors_calls(start_runtime):
    start_runtime(num_cpus=1)
    actor = Fragile.options(num_cpus=1).remote()
    worker_pid = actorium.get(actor.pid.remote(), timeout=20)
    running = actor.sleep.remote(30)
    time.sleep(0.2)
    os.kill(worker_pid, signal.SIGKILL)
    with pytest.raises(ActorDiedError):
        actorium.get(running, timeout=20)


@pytest.mark.timeout(60)
def test_a_value_whose_owner_process_died_raises_object_lost_error(start_runtime):
    start_runtime(num_cpus=2)
    kept, _ = actorium.get(put_large_value_inside_the_task.remote(), timeout=20)
    assert len(actorium.get(kept, timeout=20)) == 300_000  # fetched while the owner lives
    lost, owner_pid = actorium.get(put_large_value_inside_the_task.remote(), timeout=20)
    os.kill(owner_pid, signal.SIGKILL)
    with pytest.raises(ObjectLostError):
        actorium.get(lost, timeout=20)
    assert actorium.get(identity.remote("still working"), timeout=30) == "still working"


@pytest.mark.timeout(60)
def test_a_task_calling_a_killed_actor_gets_actor_died_error(runtime):
    actor = Fragile.remote()
    actorium.get(actor.count.remote(), timeout=20)
    actorium.kill(actor)

    @actorium.remote
    def call(handle):
        try:
            actorium.get(handle.count.remote(), timeout=20)
        except ActorDiedError as exc:
            return type(exc).__name__
        return "no error"

    assert actorium.get(call.remote(actor), timeout=30) == "ActorDiedError"
