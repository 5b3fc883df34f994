"""Job records and logs on disk, so that a job's status survives its dashboard.

One directory (the head's session directory's ``jobs/``, mode 0700) holds, per job,
``<submission id>.json`` (its ``JobDetails`` plus the pids of its supervisor and driver) and
``job-driver-<submission id>.log`` (everything its entrypoint printed). Records are replaced
atomically (write, then rename). Who writes a record, in turn: the job manager (PENDING, or
FAILED before the entrypoint could start), then the job's supervisor process (RUNNING and the
end), then the manager again only if the supervisor vanished without a word.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from actorium._jobs.models import JobDetails, JobStatus

# Fields of a record that are not part of Ray's JobDetails (never sent to clients).
PRIVATE_FIELDS = ("supervisor_pid", "driver_pid")


def now_ms() -> int:
    return int(time.time() * 1000)


class JobStore:
    """The records and logs of the jobs of one head."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        os.makedirs(directory, mode=0o700, exist_ok=True)

    def record_path(self, submission_id: str) -> str:
        return os.path.join(self.directory, f"{submission_id}.json")

    def log_path(self, submission_id: str) -> str:
        return os.path.join(self.directory, f"job-driver-{submission_id}.log")

    def read(self, submission_id: str) -> dict[str, Any] | None:
        try:
            with open(self.record_path(submission_id)) as file:
                return json.load(file)  # type: ignore[no-any-return]
        except FileNotFoundError:
            return None
        except ValueError:
            return None   # a record being replaced right now: the rename makes this rare

    def write(self, record: dict[str, Any]) -> None:
        path = self.record_path(record["submission_id"])
        temporary = f"{path}.partial-{os.getpid()}"
        with open(temporary, "w") as file:
            json.dump(record, file)
        os.replace(temporary, path)

    def update(self, submission_id: str, **fields: Any) -> dict[str, Any]:
        record = self.read(submission_id)
        if record is None:
            raise LookupError(f"no job {submission_id}")
        if "status" in fields and "message" not in fields:
            record["message"] = None   # the new status's default message
        record.update(fields)
        record["message"] = JobDetails.from_json(public(record)).message
        self.write(record)
        return record

    def delete(self, submission_id: str) -> None:
        os.unlink(self.record_path(submission_id))

    def all(self) -> list[dict[str, Any]]:
        records = []
        for name in sorted(os.listdir(self.directory)):
            if name.endswith(".json"):
                record = self.read(name[:-len(".json")])
                if record is not None:
                    records.append(record)
        return records

    def read_log(self, submission_id: str, offset: int = 0) -> tuple[str, int]:
        """The log from byte ``offset`` on (decoded), and the offset after it."""
        try:
            with open(self.log_path(submission_id), "rb") as file:
                file.seek(offset)
                data = file.read()
        except FileNotFoundError:
            return "", offset
        cut = _complete_utf8(data)
        return data[:cut].decode(errors="replace"), offset + cut


def _complete_utf8(data: bytes) -> int:
    """The length of ``data`` without a trailing, incomplete UTF-8 character (if any)."""
    lead = len(data) - 1
    while lead >= 0 and len(data) - lead <= 4 and (data[lead] & 0xC0) == 0x80:
        lead -= 1
    if lead < 0 or data[lead] < 0xC0:
        return len(data)
    expected = 2 if data[lead] < 0xE0 else 3 if data[lead] < 0xF0 else 4
    return lead if lead + expected > len(data) else len(data)


def public(record: dict[str, Any]) -> dict[str, Any]:
    """A record without its private fields: what a client may see."""
    return {k: v for k, v in record.items() if k not in PRIVATE_FIELDS}


def is_terminal(record: dict[str, Any]) -> bool:
    return JobStatus(record["status"]).is_terminal()
