"""Jobs: a command run on the cluster as a driver, with its runtime environment and its log.

    models.py      JobStatus, JobInfo, JobDetails, JobSubmitRequest (Ray's names and fields)
    store.py       records and logs on disk (a job's status survives its dashboard)
    supervisor.py  the process that runs one job's entrypoint and records how it ended
    manager.py     the head's job manager: submit, stop, delete, list, follow logs

The REST API is an area of the dashboard (``_node/dashboard/job_routes.py``), the client
``actorium.job_submission`` and the command ``actorium job`` (``_cli/job.py``).
"""

# Variables a job's driver is started with (read by init() and by connect()).
ADDRESS_ENV = "ACTORIUM_ADDRESS"                  # the cluster to connect to
JOB_NODE_ENV = "ACTORIUM_JOB_NODE_ID"             # the node to attach to (the job's)
JOB_SUBMISSION_ENV = "ACTORIUM_JOB_SUBMISSION_ID"  # which job this driver belongs to
