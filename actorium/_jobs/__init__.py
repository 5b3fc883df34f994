"""Jobs: a command run on the cluster as a driver, with its runtime environment and its log.

    models.py      JobStatus, JobInfo, JobDetails, JobSubmitRequest (Ray's names and fields)
    store.py       records and logs on disk (a job's status survives its dashboard)
    supervisor.py  the process that runs one job's entrypoint and records how it ended
    manager.py     the head's job manager: submit, stop, delete, list, follow logs
    routes.py      the REST API under the dashboard (/api/jobs/, Ray's routes, token-only)
    client.py      JobSubmissionClient (HTTP; actorium.job_submission re-exports it)
"""

# Variables a job's driver is started with (read by init() and by connect()).
ADDRESS_ENV = "ACTORIUM_ADDRESS"                  # the cluster to connect to
JOB_NODE_ENV = "ACTORIUM_JOB_NODE_ID"             # the node to attach to (the job's)
JOB_SUBMISSION_ENV = "ACTORIUM_JOB_SUBMISSION_ID"  # which job this driver belongs to
