"""``RuntimeEnv`` and ``RuntimeEnvConfig``: validation in one place, Ray's field names.

A runtime env is a dict (Ray's ``RuntimeEnv`` is one too), checked and normalised when it is
given (``init()``, ``@remote``, ``.options()``), so that a typo fails where it was written:

* ``env_vars``: ``{name: value}``, strings only;
* ``working_dir``: a local directory or ``.zip`` file (shipped once, by content hash), or the
  ``pkg://<hash>.zip`` URI it was uploaded as; the worker's current directory, importable;
* ``py_modules``: local directories, ``.zip`` files, ``.py`` files or imported module
  objects, each importable in the worker; or their ``pkg://`` URIs;
* ``excludes``: gitignore-style patterns left out of ``working_dir`` and ``py_modules``;
* ``pip`` / ``uv``: a list of requirements, a path to a local ``requirements.txt``, or a dict
  (``packages``, ``pip_check``/``uv_check``, ``pip_version``/``uv_version``,
  ``pip_install_options``/``uv_pip_install_options``), normalised to the dict form;
* ``config``: ``RuntimeEnvConfig`` (``setup_timeout_seconds``, ``eager_install``).

Inheritance (``merge``): a child task or actor starts from its parent's environment; every
field it sets replaces the parent's, except ``env_vars``, which are merged name by name.
"""

from __future__ import annotations

import hashlib
import json
import os
import types
from collections import OrderedDict
from typing import Any

DEFAULT_SETUP_TIMEOUT_SECONDS = 600
PACKAGE_SCHEME = "pkg://"

_FIELDS = ("env_vars", "working_dir", "py_modules", "excludes", "pip", "uv", "config")
# Ray fields this build does not provide: a clear error instead of silently ignoring them.
_NOT_SUPPORTED = {
    "conda": "conda environments are not supported; use 'pip' or 'uv'",
    "container": "containers are not supported",
    "image_uri": "container images are not supported",
    "java_jars": "Java is not supported",
    "nsight": "Nsight profiling is not supported",
    "rocprof_sys": "rocprof profiling is not supported",
    "py_executable": "a custom Python executable is not supported; use 'pip' or 'uv'",
    "worker_process_setup_hook": "worker_process_setup_hook is not supported",
}
_PIP_FIELDS = {"packages", "pip_check", "pip_install_options", "pip_version"}
_UV_FIELDS = {"packages", "uv_check", "uv_version", "uv_pip_install_options"}


class RuntimeEnvConfig(dict[str, Any]):
    """Options of setting an environment up (not part of its identity, as in Ray).

    ``setup_timeout_seconds`` (default 600; -1 for none): a setup that takes longer fails with
    ``RuntimeEnvSetupError``. ``eager_install`` (default True): an ``init(runtime_env=...)``
    starts setting the environment up at once rather than at the first task.
    """

    known_fields = frozenset({"setup_timeout_seconds", "eager_install", "log_files"})

    def __init__(self, setup_timeout_seconds: int = DEFAULT_SETUP_TIMEOUT_SECONDS,
                 eager_install: bool = True, log_files: list[str] | None = None) -> None:
        super().__init__()
        if isinstance(setup_timeout_seconds, bool) or not isinstance(setup_timeout_seconds, int):
            raise TypeError(f"runtime_env config setup_timeout_seconds must be an int, got "
                            f"{setup_timeout_seconds!r}")
        if setup_timeout_seconds <= 0 and setup_timeout_seconds != -1:
            raise ValueError("runtime_env config setup_timeout_seconds must be > 0 or -1 (no "
                             f"timeout), got {setup_timeout_seconds}")
        if not isinstance(eager_install, bool):
            raise TypeError(f"runtime_env config eager_install must be a bool, got "
                            f"{eager_install!r}")
        if log_files is not None and (not isinstance(log_files, list) or not all(
                isinstance(f, str) for f in log_files)):
            raise TypeError(f"runtime_env config log_files must be a list of strings, got "
                            f"{log_files!r}")
        self["setup_timeout_seconds"] = setup_timeout_seconds
        self["eager_install"] = eager_install
        self["log_files"] = list(log_files or [])

    @classmethod
    def parse(cls, value: Any) -> RuntimeEnvConfig:
        if isinstance(value, RuntimeEnvConfig):
            return value
        if not isinstance(value, dict):
            raise TypeError(f"runtime_env['config'] must be a dict or RuntimeEnvConfig, got "
                            f"{type(value).__name__}")
        unknown = sorted(set(value) - cls.known_fields)
        if unknown:
            raise ValueError(f"unknown runtime_env config field(s): {', '.join(unknown)}; "
                             f"valid fields are: {', '.join(sorted(cls.known_fields))}")
        return cls(**value)


class RuntimeEnv(dict[str, Any]):
    """A validated runtime environment (a dict with Ray's keys); see the module docstring.

    ``RuntimeEnv(env_vars={"A": "1"}, pip=["requests"])`` or from a dict with
    ``RuntimeEnv(**d)``. Raises ``ValueError``/``TypeError`` naming the field at fault.
    """

    known_fields = frozenset(_FIELDS)

    def __init__(self, *, env_vars: dict[str, str] | None = None,
                 working_dir: str | os.PathLike[str] | None = None,
                 py_modules: list[Any] | None = None, excludes: list[str] | None = None,
                 pip: Any = None, uv: Any = None, config: Any = None, **unsupported: Any) -> None:
        super().__init__()
        for name in unsupported:
            reason = _NOT_SUPPORTED.get(name)
            if reason is not None:
                raise ValueError(f"runtime_env field {name!r}: {reason}")
            raise ValueError(f"unknown runtime_env field {name!r}; valid fields are: "
                             f"{', '.join(_FIELDS)}")
        if env_vars is not None:
            checked = _env_vars(env_vars)
            if checked:
                self["env_vars"] = checked
        if working_dir is not None:
            self["working_dir"] = _working_dir(working_dir)
        if py_modules is not None:
            modules = _py_modules(py_modules)
            if modules:
                self["py_modules"] = modules
        if excludes is not None:
            if not isinstance(excludes, list) or not all(isinstance(e, str) for e in excludes):
                raise TypeError(f"runtime_env['excludes'] must be a list of strings, got "
                                f"{excludes!r}")
            if excludes:
                self["excludes"] = list(excludes)
        if pip is not None and uv is not None:
            raise ValueError("runtime_env may set 'pip' or 'uv', not both")
        if pip is not None:
            parsed = _requirements("pip", pip, _PIP_FIELDS)
            if parsed:
                self["pip"] = parsed
        if uv is not None:
            parsed = _requirements("uv", uv, _UV_FIELDS)
            if parsed:
                self["uv"] = parsed
        if config is not None:
            self["config"] = RuntimeEnvConfig.parse(config)

    # Ray's accessors.
    def env_vars(self) -> dict[str, str]:
        return dict(self.get("env_vars", {}))

    def working_dir(self) -> str:
        return str(self.get("working_dir", ""))

    def py_modules(self) -> list[str]:
        return list(self.get("py_modules", []))

    def pip_config(self) -> dict[str, Any]:
        return dict(self.get("pip", {}))

    def uv_config(self) -> dict[str, Any]:
        return dict(self.get("uv", {}))

    def config(self) -> RuntimeEnvConfig:
        return RuntimeEnvConfig.parse(self.get("config") or {})

    def to_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(self))  # type: ignore[no-any-return]

    def serialize(self) -> str:
        return json.dumps(self, sort_keys=True)

    @classmethod
    def deserialize(cls, text: str) -> RuntimeEnv:
        return parse(json.loads(text)) or cls()


def parse(value: Any) -> RuntimeEnv | None:
    """A ``runtime_env`` option as given by the user, checked; None when it sets nothing."""
    if value is None:
        return None
    if isinstance(value, RuntimeEnv):
        env = value
    elif isinstance(value, dict):
        bad = [k for k in value if not isinstance(k, str)]
        if bad:
            raise TypeError(f"runtime_env keys must be strings, got {bad[0]!r}")
        env = RuntimeEnv(**value)
    else:
        raise TypeError(f"runtime_env must be a dict or RuntimeEnv, got {type(value).__name__}")
    return env if env else None


def merge(parent: dict[str, Any] | None, child: dict[str, Any] | None) -> dict[str, Any] | None:
    """The environment of a child whose parent runs in ``parent`` and that asked for ``child``.

    Every field of the child replaces the parent's, except ``env_vars``, merged name by name
    (the child's value wins), as Ray's inheritance does.
    """
    if not child:
        return dict(parent) if parent else None
    if not parent:
        return dict(child)
    merged = {**parent, **child}
    if "env_vars" in parent and "env_vars" in child:
        merged["env_vars"] = {**parent["env_vars"], **child["env_vars"]}
    return merged


def env_hash(env: dict[str, Any]) -> str:
    """The identity of an environment: what it contains, not how it is set up (``config``)."""
    identity = {k: v for k, v in env.items() if k != "config"}
    text = json.dumps(identity, sort_keys=True, separators=(",", ":"))
    return hashlib.blake2b(text.encode(), digest_size=10).hexdigest()


def setup_timeout(env: dict[str, Any]) -> float | None:
    """Seconds a setup of ``env`` may take (None: no limit)."""
    seconds = (env.get("config") or {}).get("setup_timeout_seconds",
                                            DEFAULT_SETUP_TIMEOUT_SECONDS)
    return None if seconds == -1 else float(seconds)


def is_package_uri(value: str) -> bool:
    return value.startswith(PACKAGE_SCHEME)


# ---------------------------------------------------------------------- field checks
def _env_vars(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise TypeError(f"runtime_env['env_vars'] must be a dict of str -> str, got "
                        f"{type(value).__name__}")
    for key, item in value.items():
        if not isinstance(key, str) or not isinstance(item, str):
            raise TypeError(f"runtime_env['env_vars'] must be a dict of str -> str, got "
                            f"{key!r}: {item!r}")
        if not key or "=" in key or "\0" in key or "\0" in item:
            raise ValueError(f"runtime_env['env_vars'] has an invalid variable name {key!r}")
    return dict(value)


def _path_or_uri(field: str, value: Any) -> tuple[str, bool]:
    """(absolute local path or package URI, is it a URI) of a working_dir / py_modules entry."""
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str) or not value:
        raise TypeError(f"runtime_env[{field!r}] takes local paths or {PACKAGE_SCHEME} URIs, "
                        f"got {value!r}")
    if is_package_uri(value):
        _check_package_uri(field, value)
        return value, True
    if "://" in value:
        raise ValueError(f"runtime_env[{field!r}] {value!r}: only local paths (uploaded for "
                         f"you) and {PACKAGE_SCHEME} URIs are supported")
    return os.path.abspath(os.path.expanduser(value)), False


def _working_dir(value: Any) -> str:
    path, is_uri = _path_or_uri("working_dir", value)
    if is_uri or os.path.isdir(path) or (os.path.isfile(path) and path.endswith(".zip")):
        return path
    raise ValueError(f"runtime_env['working_dir'] {value!r} is not an existing directory or "
                     f".zip file")


def _py_modules(value: Any) -> list[str]:
    if not isinstance(value, list):
        raise TypeError(f"runtime_env['py_modules'] must be a list, got {type(value).__name__}")
    modules = []
    for item in value:
        if isinstance(item, types.ModuleType):
            item = _module_location(item)
        path, is_uri = _path_or_uri("py_modules", item)
        if is_uri:
            modules.append(path)
            continue
        if path.endswith(".whl"):
            raise ValueError(f"runtime_env['py_modules'] entry {item!r}: install wheels with "
                             f"'pip': [{item!r}]")
        if not (os.path.isdir(path) or (os.path.isfile(path) and path.endswith((".zip", ".py")))):
            raise ValueError(f"runtime_env['py_modules'] entry {item!r} is not an existing "
                             f"directory, .zip or .py file")
        modules.append(path)
    return list(OrderedDict.fromkeys(modules))


def _module_location(module: types.ModuleType) -> str:
    paths = list(getattr(module, "__path__", []) or [])
    if paths:
        return str(paths[0])
    file = getattr(module, "__file__", None)
    if file:
        return str(file)
    raise ValueError(f"runtime_env['py_modules']: module {module.__name__} has no files to ship")


def _check_package_uri(field: str, uri: str) -> None:
    name = uri[len(PACKAGE_SCHEME):]
    stem = name.removesuffix(".zip")
    if not name.endswith(".zip") or not stem or not all(c in "0123456789abcdef" for c in stem):
        raise ValueError(f"runtime_env[{field!r}] {uri!r} is not a package URI "
                         f"({PACKAGE_SCHEME}<hex hash>.zip)")


def _requirements(field: str, value: Any, allowed: set[str]) -> dict[str, Any] | None:
    if isinstance(value, str):
        spec: dict[str, Any] = {"packages": _read_requirements_file(field, value)}
    elif isinstance(value, list):
        spec = {"packages": value}
    elif isinstance(value, dict):
        unknown = sorted(set(value) - allowed)
        if unknown:
            raise ValueError(f"runtime_env[{field!r}] can only have the fields "
                             f"{', '.join(sorted(allowed))}, got {', '.join(unknown)}")
        if "packages" not in value:
            raise ValueError(f"runtime_env[{field!r}] must include 'packages', got {value!r}")
        spec = dict(value)
    else:
        raise TypeError(f"runtime_env[{field!r}] must be a list of requirements, a path to a "
                        f"requirements file, or a dict, got {type(value).__name__}")
    packages = spec["packages"]
    if not isinstance(packages, list) or not all(isinstance(p, str) for p in packages):
        raise TypeError(f"runtime_env[{field!r}]['packages'] must be a list of strings, got "
                        f"{packages!r}")
    spec["packages"] = list(OrderedDict.fromkeys(p.strip() for p in packages if p.strip()))
    check_field = "pip_check" if field == "pip" else "uv_check"
    version_field = "pip_version" if field == "pip" else "uv_version"
    options_field = "pip_install_options" if field == "pip" else "uv_pip_install_options"
    spec[check_field] = spec.get(check_field, False)
    if not isinstance(spec[check_field], bool):
        raise TypeError(f"runtime_env[{field!r}][{check_field!r}] must be a bool")
    if version_field in spec and not isinstance(spec[version_field], str):
        raise TypeError(f"runtime_env[{field!r}][{version_field!r}] must be a string such as "
                        f"'==24.0'")
    if options_field in spec and (not isinstance(spec[options_field], list) or not all(
            isinstance(o, str) for o in spec[options_field])):
        raise TypeError(f"runtime_env[{field!r}][{options_field!r}] must be a list of strings")
    return spec if spec["packages"] else None


def _read_requirements_file(field: str, path: str) -> list[str]:
    try:
        with open(os.path.expanduser(path)) as file:
            lines = file.read().splitlines()
    except OSError as exc:
        raise ValueError(f"runtime_env[{field!r}]: cannot read the requirements file {path!r}: "
                         f"{exc.strerror}") from None
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
