"""The submitting side: the wire form of the environment a task or actor is to run in.

Every process has one ``EnvResolver``. Its ``parent`` is the environment its own tasks
inherit: the job's (``init(runtime_env=...)``) in a driver, the worker's own in a worker. A
submission's ``runtime_env`` option is merged over it (``spec.merge``); local paths
(``working_dir``, ``py_modules``) are zipped and uploaded, only if the cluster lacks their
hash, and replaced by their ``pkg://`` URIs. The result, ``{"hash": ..., "env": ...}``, is
computed once per option object and parent, so a loop of ``.remote()`` calls pays nothing
after the first.

Uploading blocks the submitting thread (once per distinct directory content), as Ray's
``init()`` does.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from actorium._runtime_env import packaging
from actorium._runtime_env.spec import RuntimeEnv, env_hash, is_package_uri, merge

# request(verb, *args) -> answer: a blocking request to this process's node.
Request = Callable[..., Any]
_CACHE_ATTRIBUTE = "_actorium_wire"


class EnvResolver:
    """Turns ``runtime_env`` options into wire forms for one process."""

    def __init__(self, request: Request) -> None:
        self._request = request
        self._lock = threading.Lock()
        self._uploaded: dict[tuple[str, bool], str] = {}   # (path, as_module) -> URI
        self.parent: dict[str, Any] | None = None           # resolved: URIs only
        self.parent_wire: dict[str, Any] | None = None

    def set_parent(self, env: dict[str, Any] | None) -> None:
        """The environment this process's tasks inherit (resolving local paths first)."""
        resolved = self.resolve(env) if env else None
        self.parent = resolved or None
        self.parent_wire = _wire(resolved) if resolved else None

    def adopt(self, wire: dict[str, Any] | None) -> None:
        """Inherit an environment already resolved (a worker's own, from its node)."""
        self.parent = wire["env"] if wire else None
        self.parent_wire = wire

    def wire_for(self, requested: RuntimeEnv | None) -> dict[str, Any] | None:
        """The wire form for a submission with this ``runtime_env`` option (None: default)."""
        if requested is None:
            return self.parent_wire
        parent_hash = self.parent_wire["hash"] if self.parent_wire else ""
        cached: dict[str, Any] = requested.__dict__.setdefault(_CACHE_ATTRIBUTE, {})
        wire = cached.get(parent_hash, False)
        if wire is False:
            merged = merge(self.parent, self.resolve(requested))
            wire = _wire(merged) if merged else None
            cached[parent_hash] = wire
        return wire   # type: ignore[no-any-return]

    def resolve(self, env: dict[str, Any]) -> dict[str, Any]:
        """``env`` with local paths replaced by uploaded package URIs, as plain JSON data."""
        resolved: dict[str, Any] = json.loads(json.dumps(env))
        excludes = resolved.pop("excludes", [])
        working_dir = resolved.get("working_dir")
        if working_dir and not is_package_uri(working_dir):
            resolved["working_dir"] = self._upload(working_dir, excludes, as_module=False)
        if resolved.get("py_modules"):
            resolved["py_modules"] = [m if is_package_uri(m) else
                                      self._upload(m, excludes, as_module=True)
                                      for m in resolved["py_modules"]]
        return resolved

    def _upload(self, path: str, excludes: list[str], *, as_module: bool) -> str:
        with self._lock:
            known = self._uploaded.get((path, as_module))
        if known is not None:
            return known
        uri, data = packaging.package(path, excludes, as_module=as_module)
        if not self._request("has_package", uri):
            self._request("put_package", uri, data)
        with self._lock:
            self._uploaded[(path, as_module)] = uri
        return uri


def _wire(env: dict[str, Any]) -> dict[str, Any]:
    return {"hash": env_hash(env), "env": env}
