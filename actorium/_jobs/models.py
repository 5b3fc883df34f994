"""What a job is, in Ray's names: ``JobStatus``, ``JobErrorType``, ``JobInfo``, ``JobDetails``.

Records travel as JSON (the REST API, the files of the job store) with Ray's field names, so
a client written for Ray's job API reads them unchanged.
"""

from __future__ import annotations

import dataclasses
import secrets
import string
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

_ID_ALPHABET = "".join(sorted(set(string.ascii_letters + string.digits) - set("IloO0")))


def new_submission_id() -> str:
    """``actoriumsubmit_`` and 16 characters that cannot be misread, as Ray's are."""
    return "actoriumsubmit_" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(16))


class JobStatus(StrEnum):
    """Where a job is in its life; the last three never change again."""

    PENDING = "PENDING"        # waiting for its runtime environment or resources
    RUNNING = "RUNNING"        # its entrypoint runs
    STOPPED = "STOPPED"        # stopped on request
    SUCCEEDED = "SUCCEEDED"    # the entrypoint exited with 0
    FAILED = "FAILED"          # it exited otherwise, or could not start

    def is_terminal(self) -> bool:
        return self in (JobStatus.STOPPED, JobStatus.SUCCEEDED, JobStatus.FAILED)


class JobErrorType(StrEnum):
    RUNTIME_ENV_SETUP_FAILURE = "RUNTIME_ENV_SETUP_FAILURE"
    JOB_SUPERVISOR_ACTOR_DIED = "JOB_SUPERVISOR_ACTOR_DIED"
    JOB_ENTRYPOINT_COMMAND_START_ERROR = "JOB_ENTRYPOINT_COMMAND_START_ERROR"
    JOB_ENTRYPOINT_COMMAND_ERROR = "JOB_ENTRYPOINT_COMMAND_ERROR"


class JobType(StrEnum):
    SUBMISSION = "SUBMISSION"
    DRIVER = "DRIVER"


_DEFAULT_MESSAGES = {
    JobStatus.PENDING: "Job has not started yet.",
    JobStatus.RUNNING: "Job is currently running.",
    JobStatus.STOPPED: "Job was intentionally stopped.",
    JobStatus.SUCCEEDED: "Job finished successfully.",
    JobStatus.FAILED: "Job failed.",
}


@dataclass
class JobInfo:
    """One submitted job: what it runs, where it is, how it ended (times in ms since epoch)."""

    status: JobStatus
    entrypoint: str
    message: str | None = None
    error_type: JobErrorType | None = None
    start_time: int | None = None
    end_time: int | None = None
    metadata: dict[str, str] | None = None
    runtime_env: dict[str, Any] | None = None
    entrypoint_num_cpus: float | None = None
    entrypoint_num_gpus: float | None = None
    entrypoint_memory: int | None = None
    entrypoint_resources: dict[str, float] | None = None
    driver_agent_http_address: str | None = None
    driver_node_id: str | None = None
    driver_exit_code: int | None = None

    def __post_init__(self) -> None:
        self.status = JobStatus(self.status)
        if self.error_type is not None:
            self.error_type = JobErrorType(self.error_type)
        if self.message is None:
            self.message = _DEFAULT_MESSAGES[self.status]


@dataclass
class DriverInfo:
    id: str
    node_ip_address: str
    pid: str


@dataclass
class JobDetails(JobInfo):
    """A job as the REST API and ``JobSubmissionClient`` describe it (Ray's ``JobDetails``)."""

    type: JobType = JobType.SUBMISSION
    job_id: str | None = None
    submission_id: str | None = None
    driver_info: DriverInfo | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        self.type = JobType(self.type)
        if isinstance(self.driver_info, dict):
            self.driver_info = DriverInfo(**self.driver_info)

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["status"] = self.status.value
        data["type"] = self.type.value
        data["error_type"] = self.error_type.value if self.error_type else None
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JobDetails:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class JobSubmitRequest:
    """The body of ``POST /api/jobs/``, checked field by field (TypeError/ValueError)."""

    entrypoint: str
    submission_id: str | None = None
    job_id: str | None = None           # Ray's deprecated name of submission_id
    runtime_env: dict[str, Any] | None = None
    metadata: dict[str, str] | None = None
    entrypoint_num_cpus: float | None = None
    entrypoint_num_gpus: float | None = None
    entrypoint_memory: int | None = None
    entrypoint_resources: dict[str, float] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.entrypoint, str) or not self.entrypoint.strip():
            raise TypeError("entrypoint must be a non-empty string (a shell command)")
        for name in ("submission_id", "job_id"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value or
                                      not all(c.isalnum() or c in "-_." for c in value)):
                raise ValueError(f"{name} must be a string of letters, digits, '-', '_' or '.'")
        if self.runtime_env is not None and not isinstance(self.runtime_env, dict):
            raise TypeError("runtime_env must be a dict")
        if self.metadata is not None and (not isinstance(self.metadata, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in self.metadata.items())):
            raise TypeError("metadata must be a dict of strings")
        for name in ("entrypoint_num_cpus", "entrypoint_num_gpus"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(
                    value, (int, float)) or value < 0):
                raise TypeError(f"{name} must be a number >= 0")
        memory = self.entrypoint_memory
        if memory is not None and (isinstance(memory, bool) or not isinstance(memory, int)
                                   or memory < 0):
            raise TypeError("entrypoint_memory must be an int >= 0 (bytes)")
        resources = self.entrypoint_resources
        if resources is not None and (not isinstance(resources, dict) or not all(
                isinstance(k, str) and isinstance(v, (int, float)) and not isinstance(v, bool)
                and v >= 0 for k, v in resources.items())):
            raise TypeError("entrypoint_resources must be a dict of name -> number >= 0")

    @classmethod
    def from_json(cls, data: Any) -> JobSubmitRequest:
        if not isinstance(data, dict):
            raise TypeError("the request body must be a JSON object")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown field(s): {', '.join(unknown)}")
        return cls(**data)

    def demand(self) -> dict[str, float]:
        """What the entrypoint reserves on the node while it runs."""
        demand = dict(self.entrypoint_resources or {})
        if self.entrypoint_num_cpus:
            demand["CPU"] = float(self.entrypoint_num_cpus)
        if self.entrypoint_num_gpus:
            demand["GPU"] = float(self.entrypoint_num_gpus)
        if self.entrypoint_memory:
            demand["memory"] = float(self.entrypoint_memory)
        return demand
