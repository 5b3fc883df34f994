"""``actorium job submit|status|logs|stop|list|delete``: jobs from the command line (Ray's).

    actorium job submit --working-dir . -- python train.py --epochs 3
    actorium job logs --follow actoriumsubmit_...

``submit`` waits for the job and streams its output unless ``--no-wait``; it exits 1 if the
job failed. The cluster is ``--address`` (a dashboard URL), else ``ACTORIUM_API_SERVER_ADDRESS``,
else the cluster started on this machine; the token is ``ACTORIUM_CLUSTER_TOKEN`` or the
local cluster's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shlex
import sys
import time
from typing import Any

from actorium._cli.status import table
from actorium.job_submission import JobStatus, JobSubmissionClient

NAME = "job"
_STOP_POLL_SECONDS = 0.5


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(NAME, help="submit, follow, stop and list jobs")
    commands = parser.add_subparsers(dest="job_command", required=True)

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = commands.add_parser(name, help=help_text)
        sub.add_argument("--address", default=None, help="the dashboard URL of the cluster")
        return sub

    submit = command("submit", "run a command on the cluster as a job")
    submit.add_argument("--submission-id", default=None)
    submit.add_argument("--working-dir", default=None,
                        help="a local directory (or .zip) shipped with the job: its cwd")
    submit.add_argument("--runtime-env-json", default=None, help="the job's runtime_env")
    submit.add_argument("--metadata-json", default=None)
    submit.add_argument("--entrypoint-num-cpus", type=float, default=None)
    submit.add_argument("--entrypoint-num-gpus", type=float, default=None)
    submit.add_argument("--entrypoint-memory", type=int, default=None)
    submit.add_argument("--entrypoint-resources", default=None, help="JSON: name -> amount")
    submit.add_argument("--no-wait", action="store_true",
                        help="return once submitted instead of streaming the logs")
    submit.add_argument("entrypoint", nargs=argparse.REMAINDER,
                        help="-- then the command, e.g. -- python script.py")
    for name, help_text in (("status", "a job's status"), ("delete", "forget a job that ended")):
        command(name, help_text).add_argument("job_id")
    logs = command("logs", "a job's output")
    logs.add_argument("job_id")
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing as it grows")
    stop = command("stop", "stop a job")
    stop.add_argument("job_id")
    stop.add_argument("--no-wait", action="store_true")
    command("list", "every job of the cluster").add_argument(
        "--format", choices=["table", "json"], default="table")


def run(options: argparse.Namespace) -> int:
    try:
        client = JobSubmissionClient(options.address)
        return int(_COMMANDS[options.job_command](client, options))
    except (ConnectionError, RuntimeError, ValueError, TypeError) as exc:
        print(f"actorium job {options.job_command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _json_option(text: str | None, name: str) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ValueError(f"--{name} is not valid JSON: {exc}") from None


def _submit(client: JobSubmissionClient, options: argparse.Namespace) -> int:
    entrypoint = list(options.entrypoint)
    if entrypoint and entrypoint[0] == "--":
        entrypoint = entrypoint[1:]
    if not entrypoint:
        raise ValueError("no command to run: actorium job submit -- python script.py")
    runtime_env = _json_option(options.runtime_env_json, "runtime-env-json") or {}
    if options.working_dir is not None:
        runtime_env["working_dir"] = options.working_dir
    submission_id = client.submit_job(
        entrypoint=shlex.join(entrypoint), submission_id=options.submission_id,
        runtime_env=runtime_env or None,
        metadata=_json_option(options.metadata_json, "metadata-json"),
        entrypoint_num_cpus=options.entrypoint_num_cpus,
        entrypoint_num_gpus=options.entrypoint_num_gpus,
        entrypoint_memory=options.entrypoint_memory,
        entrypoint_resources=_json_option(options.entrypoint_resources, "entrypoint-resources"))
    print(f"Job '{submission_id}' submitted successfully.\n"
          f"  logs:   actorium job logs {submission_id}\n"
          f"  status: actorium job status {submission_id}\n"
          f"  stop:   actorium job stop {submission_id}", flush=True)
    if options.no_wait:
        return 0
    print("Tailing logs until the job exits (disable with --no-wait):", flush=True)
    status = _follow(client, submission_id)
    return 1 if status is JobStatus.FAILED else 0


def _follow(client: JobSubmissionClient, job_id: str) -> JobStatus:
    async def tail() -> None:
        async for text in client.tail_job_logs(job_id):
            sys.stdout.write(text)
            sys.stdout.flush()
    asyncio.run(tail())
    return _report(client, job_id)


def _report(client: JobSubmissionClient, job_id: str) -> JobStatus:
    info = client.get_job_info(job_id)
    if info.status is JobStatus.SUCCEEDED:
        print(f"Job '{job_id}' succeeded")
    elif info.status is JobStatus.STOPPED:
        print(f"Job '{job_id}' was stopped")
    elif info.status is JobStatus.FAILED:
        print(f"Job '{job_id}' failed\nStatus message: {info.message}")
    else:
        print(f"Status for job '{job_id}': {info.status.value}\nStatus message: {info.message}")
    return info.status


def _status(client: JobSubmissionClient, options: argparse.Namespace) -> int:
    _report(client, options.job_id)
    return 0


def _logs(client: JobSubmissionClient, options: argparse.Namespace) -> int:
    if options.follow:
        _follow(client, options.job_id)
    else:
        sys.stdout.write(client.get_job_logs(options.job_id))
    return 0


def _stop(client: JobSubmissionClient, options: argparse.Namespace) -> int:
    print(f"Attempting to stop job '{options.job_id}'")
    client.stop_job(options.job_id)
    if options.no_wait:
        return 0
    while not client.get_job_status(options.job_id).is_terminal():
        time.sleep(_STOP_POLL_SECONDS)
    _report(client, options.job_id)
    return 0


def _delete(client: JobSubmissionClient, options: argparse.Namespace) -> int:
    client.delete_job(options.job_id)
    print(f"Job '{options.job_id}' deleted successfully")
    return 0


def _list(client: JobSubmissionClient, options: argparse.Namespace) -> int:
    jobs = client.list_jobs()
    if options.format == "json":
        print(json.dumps([job.to_json() for job in jobs], indent=2))
        return 0
    rows = [{"submission_id": job.submission_id, "status": job.status.value,
             "entrypoint": job.entrypoint[:60],
             "start": time.strftime("%Y-%m-%d %H:%M:%S",
                                    time.localtime((job.start_time or 0) / 1000))}
            for job in jobs]
    print(table(rows, ["submission_id", "status", "start", "entrypoint"]))
    return 0


_COMMANDS = {"submit": _submit, "status": _status, "logs": _logs, "stop": _stop,
             "list": _list, "delete": _delete}
