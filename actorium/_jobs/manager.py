"""The job manager of a head: submit, follow, stop and forget jobs.

A job goes PENDING (waiting for the resources its entrypoint reserves, then for its runtime
environment to be set up on this node, asynchronously), then its supervisor process is
started (``supervisor.py``), which runs the entrypoint and records RUNNING and the end. The
manager watches the supervisor; when the job ends, for any reason, it gives back what the
job held and calls ``on_ended`` (the node then reaps the job's drivers: their non-detached
actors and their tasks).

The entrypoint runs as a driver of this cluster: ``actorium.init()`` there connects to it
(``ACTORIUM_ADDRESS``, the cluster token, and the node to attach to are in its environment)
and inherits the job's runtime environment. ``python`` on its ``PATH`` is the Python of the
job's environment (its virtualenv, if ``pip``/``uv`` are set; else the cluster's own).

Records live on disk (``store.py``): a manager that starts after a crash finds the jobs of
its predecessor, follows those still running, and fails those that were lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol

from actorium._jobs.models import JobErrorType, JobStatus, JobSubmitRequest, new_submission_id
from actorium._jobs.store import JobStore, is_terminal, now_ms, public
from actorium._processes import pid_alive
from actorium._runtime_env.manager import PreparedEnv
from actorium._runtime_env.spec import env_hash, is_package_uri
from actorium._runtime_env.spec import parse as parse_runtime_env
from actorium.exceptions import RuntimeEnvSetupError

_POLL_SECONDS = 0.2


class Resources(Protocol):
    """The part of the node's resource pool a job's entrypoint reservation uses."""

    def feasible(self, demand: dict[str, float]) -> bool: ...
    def fits(self, demand: dict[str, float]) -> bool: ...
    def acquire(self, demand: dict[str, float]) -> None: ...
    def release(self, demand: dict[str, float]) -> None: ...
    def describe(self, demand: dict[str, float]) -> str: ...


class JobManager:
    """Jobs of one head node (all methods on the node's loop)."""

    def __init__(self, store: JobStore, *, acquire_env: Callable[[dict[str, Any]],
                                                                 Awaitable[PreparedEnv]],
                 release_env: Callable[[str], None], resources: Resources,
                 driver_variables: dict[str, str], node_id: str,
                 on_ended: Callable[[str], None]) -> None:
        self.store = store
        self._acquire_env = acquire_env
        self._release_env = release_env
        self._resources = resources
        self._driver_variables = driver_variables
        self.node_id = node_id
        self._on_ended = on_ended
        self._running: dict[str, asyncio.Task[None]] = {}
        self._stopping: set[str] = set()

    # ------------------------------------------------------------------ lifecycle
    def recover(self) -> None:
        """Follow the jobs a previous manager of this head left running; fail lost ones."""
        for record in self.store.all():
            if is_terminal(record):
                continue
            submission_id = record["submission_id"]
            pid = record.get("supervisor_pid")
            if record["status"] == JobStatus.RUNNING.value and pid and pid_alive(pid):
                self._running[submission_id] = asyncio.ensure_future(
                    self._follow(submission_id, pid))
            else:
                self.store.update(submission_id, status=JobStatus.FAILED.value,
                                  end_time=now_ms(),
                                  error_type=JobErrorType.JOB_SUPERVISOR_ACTOR_DIED.value,
                                  message="Job was lost: the head went down before it ended.")

    async def close(self) -> None:
        """The head is shutting down: stop every job still going, and wait for them."""
        for submission_id in list(self._running):
            self.stop(submission_id)
        if self._running:
            await asyncio.wait(list(self._running.values()), timeout=10)

    # ------------------------------------------------------------------ commands
    def submit(self, request: JobSubmitRequest) -> str:
        """Record a new job and start it; returns its submission id.

        Raises ValueError for a bad runtime_env, a taken id or resources no node provides.
        """
        submission_id = request.submission_id or request.job_id or new_submission_id()
        env = parse_runtime_env(request.runtime_env)
        if env is not None:
            _check_uploaded(env)
        demand = request.demand()
        if demand and not self._resources.feasible(demand):
            raise ValueError(f"the entrypoint can never run on the head: it needs "
                             f"{self._resources.describe(demand)}")
        if self.store.read(submission_id) is not None:
            raise ValueError(f"a job with submission id {submission_id!r} already exists")
        record = {
            "type": "SUBMISSION", "submission_id": submission_id, "job_id": None,
            "status": JobStatus.PENDING.value, "entrypoint": request.entrypoint,
            "message": None, "error_type": None, "start_time": now_ms(), "end_time": None,
            "metadata": request.metadata or {}, "runtime_env": request.runtime_env or {},
            "entrypoint_num_cpus": request.entrypoint_num_cpus,
            "entrypoint_num_gpus": request.entrypoint_num_gpus,
            "entrypoint_memory": request.entrypoint_memory,
            "entrypoint_resources": request.entrypoint_resources,
            "driver_agent_http_address": None, "driver_node_id": self.node_id,
            "driver_exit_code": None, "driver_info": None,
        }
        self.store.write(record)
        self.store.update(submission_id)   # fills the PENDING message
        wire = {"hash": env_hash(env), "env": dict(env)} if env else None
        self._running[submission_id] = asyncio.ensure_future(
            self._run(submission_id, demand, wire))
        return submission_id

    def stop(self, submission_id: str) -> bool:
        """Ask a job to stop; True if it was still going. LookupError if there is none."""
        record = self._get(submission_id)
        if is_terminal(record):
            return False
        self._stopping.add(submission_id)
        pid = record.get("supervisor_pid")
        if record["status"] == JobStatus.RUNNING.value and pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        else:
            task = self._running.get(submission_id)
            if task is not None:
                task.cancel()   # still pending: it never starts
        return True

    def delete(self, submission_id: str) -> bool:
        """Forget a job that ended (its log stays on disk). ValueError if it has not."""
        record = self._get(submission_id)
        if not is_terminal(record):
            raise ValueError(f"job {submission_id} is {record['status']}: only a job that "
                             f"ended can be deleted (stop it first)")
        self.store.delete(submission_id)
        return True

    def get(self, submission_id: str) -> dict[str, Any] | None:
        record = self.store.read(submission_id)
        return public(record) if record is not None else None

    def list(self) -> list[dict[str, Any]]:
        return [public(r) for r in self.store.all()]

    def logs(self, submission_id: str, offset: int = 0) -> tuple[str, int]:
        self._get(submission_id)
        return self.store.read_log(submission_id, offset)

    async def tail(self, submission_id: str) -> AsyncIterator[str]:
        """The log as it grows, until the job has ended and all of it was read."""
        self._get(submission_id)
        offset = 0
        while True:
            record = await asyncio.to_thread(self.store.read, submission_id)
            text, offset = await asyncio.to_thread(self.store.read_log, submission_id, offset)
            if text:
                yield text
            if record is None or is_terminal(record):
                text, offset = await asyncio.to_thread(self.store.read_log, submission_id,
                                                       offset)
                if text:
                    yield text
                return
            await asyncio.sleep(_POLL_SECONDS)

    def _get(self, submission_id: str) -> dict[str, Any]:
        record = self.store.read(submission_id)
        if record is None:
            raise LookupError(f"Job {submission_id} does not exist")
        return record

    # ------------------------------------------------------------------ running a job
    async def _run(self, submission_id: str, demand: dict[str, float],
                   wire: dict[str, Any] | None) -> None:
        reserved = False
        prepared: PreparedEnv | None = None
        try:
            if demand:
                await self._reserve(demand)
                reserved = True
            if wire is not None:
                try:
                    prepared = await self._acquire_env(wire)
                except RuntimeEnvSetupError as exc:
                    self.store.update(
                        submission_id, status=JobStatus.FAILED.value, end_time=now_ms(),
                        error_type=JobErrorType.RUNTIME_ENV_SETUP_FAILURE.value,
                        message=str(exc))
                    return
            process = await self._start_supervisor(submission_id, prepared)
            code = await process.wait()
            self._settle(submission_id, f"its supervisor exited with code {code}")
        except asyncio.CancelledError:
            record = self.store.read(submission_id)
            if record is not None and not is_terminal(record):
                self.store.update(submission_id, status=JobStatus.STOPPED.value,
                                  end_time=now_ms())
        finally:
            if prepared is not None:
                self._release_env(prepared.hash)
            if reserved:
                self._resources.release(demand)
            self._running.pop(submission_id, None)
            self._stopping.discard(submission_id)
            self._on_ended(submission_id)

    async def _reserve(self, demand: dict[str, float]) -> None:
        """Wait (PENDING) until the entrypoint's resources are free, then hold them."""
        while True:
            if self._resources.fits(demand):
                self._resources.acquire(demand)
                return
            await asyncio.sleep(_POLL_SECONDS)

    async def _start_supervisor(self, submission_id: str,
                                prepared: PreparedEnv | None) -> asyncio.subprocess.Process:
        variables = {**os.environ, **self._driver_variables}
        variables["PATH"] = os.path.dirname(sys.executable) + os.pathsep + variables.get(
            "PATH", "")
        if prepared is not None:
            variables.update(prepared.variables)
        variables["ACTORIUM_JOB_SUBMISSION_ID"] = submission_id
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "actorium._jobs.supervisor", "--jobs-dir",
            self.store.directory, "--submission-id", submission_id,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL, env=variables,
            cwd=prepared.cwd if prepared is not None and prepared.cwd else self.store.directory,
            start_new_session=True)

    async def _follow(self, submission_id: str, pid: int) -> None:
        """A job started by an earlier manager: wait for its supervisor to go."""
        try:
            await _exited(pid)
            self._settle(submission_id, "its supervisor went away")
        finally:
            self._running.pop(submission_id, None)
            self._stopping.discard(submission_id)
            self._on_ended(submission_id)

    def _settle(self, submission_id: str, why: str) -> None:
        """The supervisor is gone; a job it did not finish is STOPPED (asked) or FAILED."""
        record = self.store.read(submission_id)
        if record is None or is_terminal(record):
            return
        if submission_id in self._stopping:
            self.store.update(submission_id, status=JobStatus.STOPPED.value, end_time=now_ms())
        else:
            self.store.update(submission_id, status=JobStatus.FAILED.value, end_time=now_ms(),
                              error_type=JobErrorType.JOB_SUPERVISOR_ACTOR_DIED.value,
                              message=f"Job failed: {why} before the job ended.")


def _check_uploaded(env: dict[str, Any]) -> None:
    """A job's runtime_env names packages already uploaded (the client uploads local ones)."""
    paths: list[str] = [env["working_dir"]] if env.get("working_dir") else []
    paths += env.get("py_modules", [])
    local = [p for p in paths if not is_package_uri(p)]
    if local:
        raise ValueError(f"runtime_env of a submitted job must name uploaded packages "
                         f"(pkg://...), not paths on the head: {', '.join(local)}; "
                         f"JobSubmissionClient and `actorium job submit` upload local ones")


async def _exited(pid: int) -> None:
    """Wait for a process that is not our child to end (a pidfd becomes readable)."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()

    def readable() -> None:
        if not done.done():
            done.set_result(None)

    loop.add_reader(fd, readable)
    try:
        await done
    finally:
        loop.remove_reader(fd)
        os.close(fd)
