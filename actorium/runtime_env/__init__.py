"""``actorium.runtime_env``: Ray's ``ray.runtime_env`` (``RuntimeEnv``, ``RuntimeEnvConfig``).

    from actorium.runtime_env import RuntimeEnv
    f.options(runtime_env=RuntimeEnv(env_vars={"MODE": "fast"}, pip=["requests"])).remote()

See ``docs/jobs.md`` for what each field does and how environments are inherited.
"""

from actorium._runtime_env.spec import RuntimeEnv, RuntimeEnvConfig

RuntimeEnv.__module__ = __name__
RuntimeEnvConfig.__module__ = __name__

__all__ = ["RuntimeEnv", "RuntimeEnvConfig"]
