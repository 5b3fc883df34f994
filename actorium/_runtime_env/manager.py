"""The node side of runtime environments: set each one up once, share it, let it go.

``EnvManager.acquire(wire)`` returns what a worker of that environment is started with
(``PreparedEnv``: the Python to run, variables to add, its current directory), setting the
environment up first if this node has not: packages are fetched (from this node's store or,
in a cluster, the head) and unpacked, a virtualenv is built for ``pip``/``uv``. It awaits;
the file system work runs on threads and the installers as subprocesses, so the node's loop
keeps serving everything else meanwhile. Concurrent acquires of one environment share one
setup. ``release`` is called when such a worker exits; an environment no worker uses is kept
for reuse until the cache outgrows its budget (``cache.clean``).

A setup that fails raises ``RuntimeEnvSetupError`` with the installer's output, to every
acquirer of that attempt; the next acquire tries again.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from actorium._runtime_env import cache, installer, packaging
from actorium._runtime_env.spec import setup_timeout
from actorium.exceptions import RuntimeEnvSetupError

FetchPackage = Callable[[str], Awaitable[bytes]]
ENV_VARIABLE = "ACTORIUM_RUNTIME_ENV"   # the wire form, for the worker (inheritance, context)


@dataclass
class PreparedEnv:
    """How to start a worker in one environment."""

    hash: str
    python: str
    variables: dict[str, str]
    cwd: str | None
    locks: list[cache.UseLock] = field(default_factory=list)
    directories: set[str] = field(default_factory=set)
    users: int = 0


class EnvManager:
    """Environments of one node: set up, shared by its workers, released."""

    def __init__(self, fetch: FetchPackage, node_label: str, root: str | None = None) -> None:
        self.fetch = fetch
        self.node_label = node_label
        self.root = root or cache.cache_root()
        self.ready: dict[str, PreparedEnv] = {}
        self._setups: dict[str, asyncio.Future[PreparedEnv]] = {}
        self._builds: dict[str, asyncio.Future[None]] = {}   # one per package/venv directory
        self.log_dir = os.path.join(self.root, "logs")
        os.makedirs(self.log_dir, mode=0o700, exist_ok=True)

    # ------------------------------------------------------------------ acquire / release
    async def acquire(self, wire: dict[str, Any]) -> PreparedEnv:
        """The environment of ``wire`` (``{"hash", "env"}``), set up if need be; counted
        as used until ``release``. Raises ``RuntimeEnvSetupError``."""
        env_hash: str = wire["hash"]
        prepared = self.ready.get(env_hash)
        if prepared is None:
            setup = self._setups.get(env_hash)
            if setup is None:
                setup = asyncio.ensure_future(self._set_up(wire))
                self._setups[env_hash] = setup
                setup.add_done_callback(lambda _f: self._setups.pop(env_hash, None))
            prepared = await asyncio.shield(setup)
            self.ready.setdefault(env_hash, prepared)
            prepared = self.ready[env_hash]
        prepared.users += 1
        return prepared

    def release(self, env_hash: str) -> None:
        """A worker of this environment exited; the last one lets its cache entries go."""
        prepared = self.ready.get(env_hash)
        if prepared is None:
            return
        prepared.users -= 1
        if prepared.users <= 0:
            del self.ready[env_hash]
            for lock in prepared.locks:
                lock.close()
            asyncio.get_running_loop().run_in_executor(None, self.clean)

    def clean(self) -> list[str]:
        """Remove unused cache entries beyond the budget (blocking: runs on a thread)."""
        keep = {d for prepared in list(self.ready.values()) for d in prepared.directories}
        return cache.clean(self.root, cache.budget_bytes(), keep)

    def close(self) -> None:
        """Stop setups under way (their installers are killed) and drop every hold."""
        pending: list[asyncio.Future[Any]] = [*self._setups.values(), *self._builds.values()]
        for future in pending:
            future.cancel()
        for prepared in self.ready.values():
            for lock in prepared.locks:
                lock.close()
        self.ready.clear()

    # ------------------------------------------------------------------ setting up
    async def _set_up(self, wire: dict[str, Any]) -> PreparedEnv:
        env: dict[str, Any] = wire["env"]
        prepared = PreparedEnv(hash=wire["hash"], python=sys.executable, variables={}, cwd=None)
        timeout = setup_timeout(env)
        try:
            await asyncio.wait_for(self._prepare(env, prepared), timeout)
        except TimeoutError:
            self._let_go(prepared)
            raise self._error(f"the setup took longer than its setup_timeout_seconds "
                              f"({timeout:g} s) and was stopped") from None
        except RuntimeEnvSetupError as exc:
            self._let_go(prepared)
            raise self._error(str(exc)) from None
        except Exception as exc:  # noqa: BLE001 - any failure is a setup failure
            self._let_go(prepared)
            raise self._error(f"{type(exc).__name__}: {exc}") from None
        except BaseException:
            self._let_go(prepared)
            raise
        prepared.variables[ENV_VARIABLE] = json.dumps(wire)
        return prepared

    def _error(self, detail: str) -> RuntimeEnvSetupError:
        return RuntimeEnvSetupError(f"Failed to set up runtime environment.\n"
                                    f"[{self.node_label}] {detail}")

    @staticmethod
    def _let_go(prepared: PreparedEnv) -> None:
        for lock in prepared.locks:
            lock.close()
        prepared.locks.clear()

    async def _prepare(self, env: dict[str, Any], prepared: PreparedEnv) -> None:
        paths = []
        working_dir = env.get("working_dir")
        if working_dir:
            prepared.cwd = await self._package_dir(working_dir, prepared)
            paths.append(prepared.cwd)
        for uri in env.get("py_modules", []):
            paths.append(await self._package_dir(uri, prepared))
        for tool in ("pip", "uv"):
            spec = env.get(tool)
            if spec:
                venv = await self._virtualenv(tool, spec, prepared)
                prepared.python = installer.venv_python(venv)
                prepared.variables["VIRTUAL_ENV"] = venv
                prepared.variables["PATH"] = (os.path.join(venv, "bin") + os.pathsep
                                              + os.environ.get("PATH", ""))
        prepared.variables.update(env.get("env_vars", {}))
        if paths:
            inherited = prepared.variables.get("PYTHONPATH", os.environ.get("PYTHONPATH", ""))
            prepared.variables["PYTHONPATH"] = os.pathsep.join(
                [*paths, *([inherited] if inherited else [])])

    async def _hold(self, directory: str, prepared: PreparedEnv) -> None:
        lock = await asyncio.to_thread(cache.UseLock, f"{directory}.use")
        prepared.locks.append(lock)
        prepared.directories.add(directory)

    async def _package_dir(self, uri: str, prepared: PreparedEnv) -> str:
        """The unpacked directory of a package, fetched and unpacked once per machine."""
        name = packaging.package_name(uri).removesuffix(".zip")
        directory = os.path.join(self.root, "pkgs", name)
        await self._hold(directory, prepared)
        if not await asyncio.to_thread(os.path.isdir, directory):
            await self._once(directory, lambda: self._unpack(uri, directory))
        return directory

    async def _unpack(self, uri: str, directory: str) -> None:
        try:
            data = await self.fetch(uri)
        except LookupError as exc:
            raise RuntimeEnvSetupError(f"the package {uri} could not be fetched: {exc}") from None
        await asyncio.to_thread(packaging.extract, data, directory)
        await asyncio.to_thread(cache.record_size, directory)

    async def _virtualenv(self, tool: str, spec: dict[str, Any], prepared: PreparedEnv) -> str:
        key = hashlib.blake2b(json.dumps(spec, sort_keys=True).encode(),
                              digest_size=10).hexdigest()
        directory = os.path.join(self.root, tool, key)
        await self._hold(directory, prepared)
        if not await asyncio.to_thread(os.path.isdir, directory):
            await self._once(directory, lambda: self._build_venv(tool, spec, directory))
        return directory

    async def _build_venv(self, tool: str, spec: dict[str, Any], directory: str) -> None:
        log_path = os.path.join(self.log_dir, f"{tool}-{os.path.basename(directory)}.log")
        transcript = installer.Transcript(log_path)
        lock = f"{directory}.build"
        # Another node process of this machine may be building it: wait for it (a thread
        # waits on the lock, the loop does not), then build only if it is still missing.
        build_lock = await asyncio.to_thread(cache.take_build_lock, lock)
        try:
            if await asyncio.to_thread(os.path.isdir, directory):
                return
            try:
                await installer.build(directory, tool, spec, transcript)
            except RuntimeEnvSetupError as exc:
                raise RuntimeEnvSetupError(f"{exc}; the {tool} output (also in {log_path}):\n"
                                           f"{transcript.tail()}") from None
            await asyncio.to_thread(cache.record_size, directory)
        finally:
            os.close(build_lock)

    async def _once(self, directory: str, make: Callable[[], Awaitable[None]]) -> None:
        """Run ``make`` for ``directory`` once even if several setups need it at a time."""
        pending = self._builds.get(directory)
        if pending is None:
            pending = asyncio.ensure_future(make())
            self._builds[directory] = pending
            pending.add_done_callback(lambda _f: self._builds.pop(directory, None))
        try:
            # Not shielded: a setup that times out stops its installer with it.
            await pending
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise
            raise RuntimeEnvSetupError(f"preparing {directory} was stopped by another setup "
                                       f"that shared it (its timeout)") from None

