"""``actorium.job_submission``: Ray's ``ray.job_submission`` (the job SDK).

    from actorium.job_submission import JobSubmissionClient, JobStatus
    client = JobSubmissionClient("http://127.0.0.1:8265")    # token: ACTORIUM_CLUSTER_TOKEN
    job = client.submit_job(entrypoint="python train.py", runtime_env={"working_dir": "./"})
    client.get_job_status(job)                               # JobStatus.RUNNING ...

See ``docs/jobs.md``.
"""

from actorium._jobs.models import (
    DriverInfo,
    JobDetails,
    JobErrorType,
    JobInfo,
    JobStatus,
    JobType,
)
from actorium.job_submission._client import JobSubmissionClient

for _public in (DriverInfo, JobDetails, JobErrorType, JobInfo, JobStatus, JobType,
                JobSubmissionClient):
    _public.__module__ = __name__

__all__ = ["DriverInfo", "JobDetails", "JobErrorType", "JobInfo", "JobStatus",
           "JobSubmissionClient", "JobType"]
