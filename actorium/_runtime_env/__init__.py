"""Runtime environments: what a task's or actor's worker process is started with.

A ``runtime_env`` (Ray's names: ``env_vars``, ``working_dir``, ``py_modules``, ``excludes``,
``pip``, ``uv``, ``config``) travels with every task and actor creation as a small wire form
``{"hash": ..., "env": ...}``. The node starts, for each distinct hash, workers of their own:
a worker set up for one environment never runs a task of another.

    spec.py        RuntimeEnv / RuntimeEnvConfig, validation, merging parent and child
    packaging.py   directories and zips as content-addressed packages (``pkg://<hash>.zip``)
    resolve.py     the submitting side: merge with the parent's env, upload local paths once
    cache.py       the per-machine cache of built environments, in-use locks, cleanup
    installer.py   building a virtualenv with pip or uv (asynchronous, with the output kept)
    manager.py     the node side: set an environment up once, share it, release it

Nothing here knows the node or the runtime: the node and the caller hand in the few callables
(fetch a package, upload a package) that these parts need.
"""
