"""A job's supervisor: ``python -m actorium._jobs.supervisor --jobs-dir D --submission-id X``.

One small process per job, started by the job manager in a session of its own (so that it
outlives a dashboard or head that crashes). It runs the entrypoint as a shell command in a
process group of its own, its output appended to the job's log, marks the job RUNNING, and
when the entrypoint exits marks it SUCCEEDED or FAILED (with the last lines of the log and
the exit code). SIGTERM means "stop the job": the entrypoint's process group gets SIGTERM,
then, after ``ACTORIUM_JOB_STOP_WAIT_TIME_S`` (3 s, as Ray's), SIGKILL for what is left of the
group; the job is STOPPED. Processes the entrypoint left behind when it exited by itself get
the same SIGTERM, wait, SIGKILL.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time

from actorium._jobs.models import JobErrorType, JobStatus
from actorium._jobs.store import JobStore, now_ms

_LOG_TAIL_CHARS = 20_000
STOP_WAIT_SECONDS = float(os.environ.get("ACTORIUM_JOB_STOP_WAIT_TIME_S", "3"))


def _kill_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _group_alive(pid: int) -> bool:
    try:
        os.killpg(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _end_group(pid: int, deadline: float, *, terminate: bool) -> None:
    """SIGTERM what is left of the entrypoint's group (unless it had it already), give it
    until ``deadline`` to exit (a driver's SIGTERM runs its shutdown: its session directory
    and shared memory go), then SIGKILL the rest. The shell that ran the entrypoint may exit
    first at the SIGTERM, so the group's end, not the shell's, is what is waited for."""
    if terminate:
        _kill_group(pid, signal.SIGTERM)
    while _group_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    _kill_group(pid, signal.SIGKILL)


def supervise(store: JobStore, submission_id: str) -> int:
    record = store.read(submission_id)
    if record is None:
        return 2
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # a terminal's ^C is not a stop request
    log_path = store.log_path(submission_id)
    with open(log_path, "ab", buffering=0) as log:
        try:
            child = subprocess.Popen(record["entrypoint"], shell=True, start_new_session=True,
                                     stdin=subprocess.DEVNULL, stdout=log,
                                     stderr=subprocess.STDOUT)
        except OSError as exc:
            store.update(submission_id, status=JobStatus.FAILED.value, end_time=now_ms(),
                         error_type=JobErrorType.JOB_ENTRYPOINT_COMMAND_START_ERROR.value,
                         message=f"Job entrypoint command could not start: {exc}")
            return 1
    store.update(submission_id, status=JobStatus.RUNNING.value, driver_pid=child.pid,
                 supervisor_pid=os.getpid())
    stopped = False
    while True:
        try:
            code = child.wait(timeout=0.2)
            break
        except subprocess.TimeoutExpired:
            pass
        if stop.is_set() and not stopped:
            stopped = True
            deadline = time.monotonic() + STOP_WAIT_SECONDS
            _kill_group(child.pid, signal.SIGTERM)
            try:
                code = child.wait(timeout=STOP_WAIT_SECONDS)
                break
            except subprocess.TimeoutExpired:
                _kill_group(child.pid, signal.SIGKILL)
    # Whatever the entrypoint started in its group does not outlive the job (stopped: within
    # the same stop wait; else it gets one of its own).
    if stopped:
        _end_group(child.pid, deadline, terminate=False)
    else:
        _end_group(child.pid, time.monotonic() + STOP_WAIT_SECONDS, terminate=True)
    if stopped:
        store.update(submission_id, status=JobStatus.STOPPED.value, end_time=now_ms(),
                     driver_exit_code=code)
    elif code == 0:
        store.update(submission_id, status=JobStatus.SUCCEEDED.value, end_time=now_ms(),
                     driver_exit_code=0)
    else:
        tail, _ = store.read_log(submission_id)
        tail = tail[-_LOG_TAIL_CHARS:]
        message = (f"Job entrypoint command failed with exit code {code}, last available logs "
                   f"(truncated to {_LOG_TAIL_CHARS:,} chars):\n{tail}" if tail else
                   f"Job entrypoint command failed with exit code {code}. No logs available.")
        store.update(submission_id, status=JobStatus.FAILED.value, end_time=now_ms(),
                     driver_exit_code=code, message=message,
                     error_type=JobErrorType.JOB_ENTRYPOINT_COMMAND_ERROR.value)
    return 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="actorium-job-supervisor")
    parser.add_argument("--jobs-dir", required=True)
    parser.add_argument("--submission-id", required=True)
    options = parser.parse_args(argv)
    sys.exit(supervise(JobStore(options.jobs_dir), options.submission_id))


if __name__ == "__main__":
    main()
