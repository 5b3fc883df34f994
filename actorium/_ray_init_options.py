"""Ray's ``init()`` arguments that actorium has no own parameter for.

Each one is either carried out (the logging ones configure the ``actorium`` logger, as Ray's
configure the ``ray`` logger) or accepted only at Ray's default value, where it changes
nothing; any other value raises ``ValueError`` naming the argument and what to do instead.
Nothing is accepted and then ignored: a ported program that relied on one of these finds
out at ``init()``, not later through behaviour that quietly differs.
"""

from __future__ import annotations

import logging
from typing import Any

# name -> (Ray's default, what to do instead). At the default the argument changes nothing.
_ONLY_AT_DEFAULT: dict[str, tuple[Any, str]] = {
    "local_mode": (False, "Ray removed local mode; test actors with actorium.testing "
                          "(docs/testing.md)"),
    "_temp_dir": (None, "the session directory is created by the runtime under the "
                        "system's temporary directory (set TMPDIR to move it)"),
    "_system_config": (None, "actorium has no internal config switches; see docs/api.md "
                             "for the options it has"),
    "job_config": (None, "pass runtime_env= and namespace= to init() directly"),
    "_plasma_directory": (None, "the object store lives in /dev/shm and spills to the "
                                "session directory"),
    "storage": (None, "Ray deprecated cluster storage; write files from your tasks, or use "
                      "virtual actors' state stores (docs/virtual-actors.md)"),
    "labels": (None, "node labels are not supported; use custom resources "
                     "(init(resources={...}) and resources= on tasks)"),
    "_node_ip_address": (None, "start a node on another address with "
                               "`actorium start --node-ip-address IP`"),
    "_redis_password": (None, "clusters authenticate with ACTORIUM_CLUSTER_TOKEN "
                              "(docs/cluster.md)"),
    "_enable_object_reconstruction": (False, "lost objects are not reconstructed; keep "
                                             "refs to values you need or recompute them"),
}

_LOGGING = ("configure_logging", "logging_level", "logging_format")
NAMES = frozenset(_ONLY_AT_DEFAULT) | frozenset(_LOGGING)


def check_and_apply(options: dict[str, Any]) -> None:
    """Raise for an unknown or unsupported argument; configure logging as asked."""
    unknown = sorted(set(options) - NAMES)
    if unknown:
        raise TypeError(f"init() got unexpected keyword argument(s): {', '.join(unknown)}")
    for name, value in options.items():
        if name in _ONLY_AT_DEFAULT:
            default, instead = _ONLY_AT_DEFAULT[name]
            if value != default:
                raise ValueError(f"init({name}={value!r}) is not supported by actorium: "
                                 f"{instead}")
    if any(name in options for name in _LOGGING):  # untouched unless asked, as before
        _configure_logging(bool(options.get("configure_logging", True)),
                           options.get("logging_level", "info"), options.get("logging_format"))


_handler: logging.Handler | None = None


def _configure_logging(configure: bool, level: Any, fmt: Any) -> None:
    """As Ray does for its ``ray`` logger: a level and a stderr handler with ``fmt``."""
    global _handler
    if not configure:
        return
    if isinstance(level, str):
        resolved = logging.getLevelName(level.upper())
        if not isinstance(resolved, int):
            raise ValueError(f"init(logging_level={level!r}): not a logging level; use one of "
                             f"'debug', 'info', 'warning', 'error', 'critical' or an int")
        level = resolved
    elif isinstance(level, bool) or not isinstance(level, int):
        raise ValueError(f"init(logging_level={level!r}): not a logging level")
    if fmt is not None and not isinstance(fmt, str):
        raise ValueError(f"init(logging_format={fmt!r}) must be a logging format string")
    logger = logging.getLogger("actorium")
    logger.setLevel(level)
    if fmt is not None:
        if _handler is None:
            _handler = logging.StreamHandler()
            logger.addHandler(_handler)
        _handler.setFormatter(logging.Formatter(fmt))
