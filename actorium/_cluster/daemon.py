"""Starting and finding the node daemons that ``actorium start`` leaves running.

Each daemon is ``python -m actorium._node.node_main --detached ...`` in a session of its own
(so it outlives the command), logging to ``node.log`` in its session directory. What was
started is recorded under the cluster directory (``/tmp/actorium-<uid>/`` unless
``ACTORIUM_CLUSTER_DIR`` says otherwise, mode 0700):

* ``nodes/<pid>.json``: one file per daemon (address, session dir), read by ``actorium stop``;
* ``cluster.json``: the head's address and the path of the token file (mode 0600), read by
  ``init(address="auto")`` and ``actorium status``.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from actorium._node.launcher import driver_path
from actorium._processes import pid_alive
from actorium._transport.auth import TOKEN_ENV
from actorium.exceptions import ActoriumError

_START_TIMEOUT = 60.0


def cluster_dir() -> str:
    root = os.environ.get("ACTORIUM_CLUSTER_DIR") or os.path.join(
        "/tmp", f"actorium-{os.getuid()}")
    os.makedirs(os.path.join(root, "nodes"), mode=0o700, exist_ok=True)
    os.chmod(root, 0o700)
    return root


def write_private(path: str, text: str) -> None:
    """Write a file only its owner can read (the token, or what points to it)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(text)


def start_daemon(*, token: str, bind_host: str, num_cpus: int, resources: dict[str, float],
                 head_port: int | None = None, head_address: str | None = None,
                 dashboard: list[str] | None = None,
                 progress: Callable[[float], None] | None = None) -> dict[str, Any]:
    """Start a detached node daemon (with the head service if ``head_port``); wait until ready.

    ``dashboard`` is the node's dashboard arguments (``["--no-dashboard"]`` for none);
    ``progress`` is called with the seconds waited so far while the daemon starts.
    Raises ActoriumError with the daemon's log if it cannot start (port taken, head unreachable).
    """
    root = cluster_dir()
    name = f"head-{head_port}" if head_port is not None else f"node-{os.getpid()}-{time.time_ns()}"
    session_dir = os.path.join(root, name)
    os.makedirs(session_dir, mode=0o700, exist_ok=True)
    log_path = os.path.join(session_dir, "node.log")
    command = [sys.executable, "-m", "actorium._node.node_main", "--detached",
               "--session-dir", session_dir, "--num-cpus", str(num_cpus),
               "--resources", json.dumps(resources), "--bind-host", bind_host]
    if head_port is not None:
        command += ["--head-port", str(head_port)]
    if head_address is not None:
        command += ["--head-address", head_address]
    command += dashboard if dashboard is not None else ["--no-dashboard"]
    env = dict(os.environ)
    env[TOKEN_ENV] = token
    env["ACTORIUM_DRIVER_PATH"] = driver_path()
    read_end, write_end = os.pipe()
    command += ["--ready-fd", str(write_end)]
    with open(log_path, "ab") as log:
        try:
            process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                       pass_fds=(write_end,), env=env, start_new_session=True)
        finally:
            os.close(write_end)
    try:
        info = _read_ready(read_end, process, log_path, progress)
    finally:
        os.close(read_end)
    if "error" in info:
        process.wait(timeout=10)
        raise ActoriumError(f"the actorium node did not start: {info['error']}")
    info["session_dir"] = session_dir
    write_private(os.path.join(root, "nodes", f"{process.pid}.json"), json.dumps(info))
    # The daemon lives on after this command exits; nobody here will wait for it.
    process.returncode = 0
    return info


def _read_ready(fd: int, process: subprocess.Popen[bytes], log_path: str,
                progress: Callable[[float], None] | None = None) -> dict[str, Any]:
    started = time.monotonic()
    deadline = started + _START_TIMEOUT
    data = b""
    while not data.endswith(b"\n"):
        remaining = deadline - time.monotonic()
        readable: list[int] = []
        while remaining > 0 and not readable:
            # Wake every half second to show progress to a person who is waiting.
            readable = select.select([fd], [], [], min(remaining, 0.5))[0]
            if progress is not None and not readable:
                progress(time.monotonic() - started)
            remaining = deadline - time.monotonic()
        chunk = os.read(fd, 4096) if readable else b""
        if not chunk:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=10)
            with open(log_path, errors="replace") as log:
                tail = log.read()[-2000:]
            raise ActoriumError(f"the actorium node did not start (see {log_path}):\n{tail}")
        data += chunk
    info: dict[str, Any] = json.loads(data)
    if "error" in info:
        process.wait(timeout=10)
        raise ActoriumError(f"the actorium node could not start: {info['error']}")
    return info


class StopRequests:
    """SIGTERM / SIGINT noted from the moment ``actorium start --block`` begins, so that a
    signal arriving while the daemon starts stops it as soon as it is up."""

    def __init__(self) -> None:
        self.requested = False
        self.pid: int | None = None
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)

    def _on_signal(self, _signum: int, _frame: Any) -> None:
        self.requested = True
        self.forward()

    def forward(self) -> None:
        if self.requested and self.pid is not None:
            try:
                os.kill(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass


def follow(info: dict[str, Any], stops: StopRequests, out: Any = None) -> int:
    """Stay in the foreground with a started daemon (``actorium start --block``).

    Copies its log to ``out`` (stdout) as it grows, passes SIGTERM / SIGINT on to it, and
    returns its exit status once it has exited: what a container's main process must do.
    """
    out = out or sys.stdout
    pid = int(info["pid"])
    log_path = os.path.join(info["session_dir"], "node.log")
    stops.pid = pid
    stops.forward()   # a signal that came while the daemon was starting
    status = 0
    with open(log_path, errors="replace") as log:
        while True:
            chunk = log.read()
            if chunk:
                out.write(chunk)
                out.flush()
            try:
                done, raw = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:   # not our child: watch it another way
                done, raw = (pid, 0) if not pid_alive(pid) else (0, 0)
            if done:
                status = os.waitstatus_to_exitcode(raw) if raw else 0
                out.write(log.read())
                out.flush()
                record = os.path.join(cluster_dir(), "nodes", f"{pid}.json")
                if os.path.exists(record):
                    os.unlink(record)
                return status
            time.sleep(0.2)


def recorded_daemons() -> list[dict[str, Any]]:
    """The daemons ``actorium start`` recorded on this machine, live or not."""
    directory = os.path.join(cluster_dir(), "nodes")
    found = []
    for name in sorted(os.listdir(directory)):
        try:
            with open(os.path.join(directory, name)) as file:
                info = json.load(file)
        except (OSError, ValueError):
            continue
        info["record"] = os.path.join(directory, name)
        found.append(info)
    return found


def stop_daemons(timeout: float = 15.0) -> list[int]:
    """SIGTERM every recorded daemon (workers first stop with it), wait, SIGKILL stragglers."""
    daemons = recorded_daemons()
    pids = []
    for info in daemons:
        if not isinstance(info.get("pid"), int):
            continue   # a record of a daemon that never started
        try:
            os.kill(info["pid"], signal.SIGTERM)
            pids.append(info["pid"])
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    for pid in pids:
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
    for info in daemons:
        os.unlink(info["record"])
    cluster_file = os.path.join(cluster_dir(), "cluster.json")
    if os.path.exists(cluster_file):
        os.unlink(cluster_file)
    return pids


def save_cluster(address: str, token: str, session_dir: str, dashboard_url: str = "") -> None:
    token_file = os.path.join(session_dir, "token")
    write_private(token_file, token)
    write_private(os.path.join(cluster_dir(), "cluster.json"),
                  json.dumps({"address": address, "token_file": token_file,
                              "dashboard_url": dashboard_url}))


def local_dashboard() -> tuple[str, str] | None:
    """(dashboard URL, token) of the cluster started on this machine, if it serves one."""
    try:
        with open(os.path.join(cluster_dir(), "cluster.json")) as file:
            info = json.load(file)
        with open(info["token_file"]) as file:
            token = file.read().strip()
    except (OSError, ValueError, KeyError):
        return None
    url = info.get("dashboard_url") or ""
    return (url, token) if url else None


def local_cluster() -> tuple[str, str] | None:
    """(address, token) of the cluster started on this machine, if any."""
    try:
        with open(os.path.join(cluster_dir(), "cluster.json")) as file:
            info = json.load(file)
        with open(info["token_file"]) as file:
            return info["address"], file.read().strip()
    except (OSError, ValueError, KeyError):
        return None
