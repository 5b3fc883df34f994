"""Starting and stopping an embedded node from a driver (``init()`` without an address)."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

from actorium._node.session_dirs import new_session_dir, remove_session_dir
from actorium._transport.auth import TOKEN_ENV, new_token
from actorium.exceptions import ActoriumError

_START_TIMEOUT = 30.0


def driver_path() -> str:
    """Directories the driver imports from, so workers can unpickle its functions by module."""
    paths = [os.getcwd()]
    if sys.path and sys.path[0]:
        paths.append(os.path.abspath(sys.path[0]))
    return os.pathsep.join(paths)


@dataclass(frozen=True)
class DashboardOptions:
    """Where the node serves its dashboard (``init(dashboard_host=..., dashboard_port=...)``)."""

    host: str = "127.0.0.1"
    port: int | None = None      # None: 8265, or the next free port if that one is taken


def _dashboard_arguments(options: DashboardOptions | None) -> list[str]:
    if options is None:
        return ["--no-dashboard"]
    arguments = ["--dashboard-host", options.host]
    if options.port is not None:
        arguments += ["--dashboard-port", str(options.port), "--dashboard-port-given"]
    return arguments


class EmbeddedNode:
    """A node daemon process owned by this driver; it exits when the driver does."""

    def __init__(self, *, num_cpus: int, resources: dict[str, float], namespace: str,
                 dashboard: DashboardOptions | None = None) -> None:
        self.session_dir = new_session_dir()
        read_end, write_end = os.pipe()
        env = dict(os.environ)
        env["ACTORIUM_DRIVER_PATH"] = driver_path()
        # A fresh secret per embedded runtime: only its own processes can talk to it.
        self.token = new_token()
        env[TOKEN_ENV] = self.token
        command = [sys.executable, "-m", "actorium._node.node_main",
                   "--session-dir", self.session_dir, "--num-cpus", str(num_cpus),
                   "--resources", json.dumps(resources), "--namespace", namespace,
                   "--ready-fd", str(write_end), *_dashboard_arguments(dashboard)]
        try:
            self.process = subprocess.Popen(command, stdin=subprocess.PIPE, pass_fds=(write_end,),
                                            env=env)
        except BaseException:
            os.close(read_end)
            remove_session_dir(self.session_dir)
            raise
        finally:
            os.close(write_end)
        try:
            info = self._read_ready(read_end)
        finally:
            os.close(read_end)
        if "error" in info:
            self.stop(timeout=5)
            raise ActoriumError(f"the actorium node could not start: {info['error']}")
        self.address: str = info["address"]
        self.node_id = bytes.fromhex(info["node_id"])
        self.dashboard_url: str = info.get("dashboard_url", "")
        # Why the dashboard asked for is not served ("" if it is, or none was asked for).
        self.dashboard_error: str = info.get("dashboard_error", "")

    def _read_ready(self, fd: int) -> dict[str, Any]:
        deadline = time.monotonic() + _START_TIMEOUT
        data = b""
        while not data.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.stop(timeout=1)
                raise ActoriumError(f"the actorium node did not start within {_START_TIMEOUT} s")
            readable, _, _ = select.select([fd], [], [], remaining)
            if not readable:
                continue
            chunk = os.read(fd, 4096)
            if not chunk:
                code = self.process.wait(timeout=5)
                self.cleanup()
                raise ActoriumError(f"the actorium node exited during start (code {code}); "
                                    f"see its output above")
            data += chunk
        return json.loads(data)  # type: ignore[no-any-return]

    def stop(self, timeout: float = 10.0) -> None:
        """Close the node's pipe (it stops its workers and exits), then wait; kill if stuck."""
        if self.process.stdin is not None and not self.process.stdin.closed:
            try:
                self.process.stdin.close()
            except OSError:
                pass
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        self.cleanup()

    def cleanup(self) -> None:
        remove_session_dir(self.session_dir)
