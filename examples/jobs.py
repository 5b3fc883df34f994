"""Ship code to a cluster and run it: a job with its working_dir, followed live, then stopped.

    python examples/jobs.py

It does by itself what you would type (see docs/jobs.md):

    actorium start --head                                   # the cluster, with its dashboard
    actorium job submit --working-dir examples/job_project \\
        --runtime-env-json '{"env_vars": {"GREETING": "hello"}}' -- python count_words.py
    actorium job submit --no-wait -- python -c "import time; time.sleep(600)"
    actorium job stop <submission id>
    actorium stop

but through the Python SDK (``JobSubmissionClient``): the project directory is zipped and
uploaded once, the entrypoint runs on the cluster as a driver in that directory, its output
is streamed here while it runs, and a second, endless job is stopped.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
import tempfile
import time

from cluster import actorium_cli, free_port  # examples/cluster.py: the same two helpers

from actorium.job_submission import JobStatus, JobSubmissionClient

PROJECT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "job_project")


async def follow(client: JobSubmissionClient, job_id: str) -> None:
    async for text in client.tail_job_logs(job_id):   # until the job has ended
        for line in text.splitlines():
            print(f"  | {line}")


def run() -> None:
    client = JobSubmissionClient()   # the cluster started on this machine, and its token
    job_id = client.submit_job(entrypoint="python count_words.py",
                               runtime_env={"working_dir": PROJECT,
                                            "env_vars": {"GREETING": "hello"}},
                               metadata={"example": "jobs"})
    print(f"submitted {job_id}; its output, as it runs:")
    asyncio.run(follow(client, job_id))
    info = client.get_job_info(job_id)
    print(f"status: {info.status.value}, exit code {info.driver_exit_code}")
    print(f"its working_dir travelled as {(info.runtime_env or {})['working_dir'][:14]}...")

    endless = client.submit_job(entrypoint=f"{sys.executable} -c 'import time; "
                                           f"print(\"working\", flush=True); time.sleep(600)'")
    while "working" not in client.get_job_logs(endless):
        time.sleep(0.2)
    print(f"stopping {endless}: {client.stop_job(endless)}")
    while not client.get_job_status(endless).is_terminal():
        time.sleep(0.2)
    print(f"status: {client.get_job_status(endless).value}")
    statuses = sorted(job.status.value for job in client.list_jobs())
    print(f"jobs on the cluster: {statuses}")
    assert client.get_job_status(job_id) is JobStatus.SUCCEEDED


def main() -> None:
    # A cluster directory of our own: this example never touches a cluster you started.
    with tempfile.TemporaryDirectory(prefix="actorium-example-") as cluster_dir:
        os.environ["ACTORIUM_CLUSTER_DIR"] = cluster_dir
        os.environ.pop("ACTORIUM_CLUSTER_TOKEN", None)
        try:
            started = actorium_cli("start", "--head", "--port", str(free_port()),
                                   "--dashboard-port", str(free_port()), "--num-cpus", "2")
            print(started.splitlines()[0])
            print(re.sub(r"\?token=\w+", "?token=...", started.splitlines()[2]))
            run()
        finally:
            print(actorium_cli("stop").strip())


if __name__ == "__main__":
    main()
