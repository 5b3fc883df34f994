"""Worker processes of a node: starting them, knowing their state, noticing their death.

Each worker is a child process started with ``python -m actorium._node.worker_main``. Its stdin
is a pipe from the node: if the node dies, the worker reads EOF and exits, so no worker outlives
its node. The node awaits each child's exit, so a death (exception, ``os._exit``, SIGKILL, OOM)
is noticed the moment it happens, not after a heartbeat timeout.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable
from enum import Enum, StrEnum
from typing import Any

from actorium._core.ids import random_id


class WorkerKind(StrEnum):
    TASK = "task"            # runs one task at a time
    HOST = "host"            # hosts many lightweight actors
    DEDICATED = "dedicated"  # hosts one actor that reserved CPUs


class WorkerState(Enum):
    STARTING = "starting"
    IDLE = "idle"
    BUSY = "busy"
    DEAD = "dead"


class WorkerInfo:
    """What the node knows of one worker process."""

    def __init__(self, kind: WorkerKind, env: dict[str, Any] | None = None) -> None:
        self.worker_id = random_id(16)
        self.kind = kind
        # The runtime environment it runs in ({"hash", "env"}; None: the node's own). A
        # worker runs only tasks and actors of its environment.
        self.env = env
        self.env_hash: str = env["hash"] if env else ""
        self.env_acquired = False
        self.idle_timer: asyncio.TimerHandle | None = None
        self.state = WorkerState.STARTING
        self.process: asyncio.subprocess.Process | None = None
        self.address: str | None = None
        self.task: Any = None                      # the RunningTask of a TASK worker
        self.blocked = False
        self.actors: set[bytes] = set()
        self.code_ids: set[bytes] = set()
        self.outbox_until_ready: list[tuple[list[Any], list[Any]]] = []
        self.reserved: dict[str, float] = {}       # resources held by a dedicated actor
        self.gpu_ids: list[str] = []               # GPU ids its actor holds (and it sees)
        self.calls: dict[bytes, int] = {}          # tasks run, by function (max_calls)
        self.exit_description = ""
        self.cpus: list[int] = []                  # cores the process is kept on ([] = any)

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    @property
    def label(self) -> str:
        return f"worker {self.pid} ({self.kind.value})"


def describe_exit(returncode: int | None) -> str:
    if returncode is None:
        return "exited"
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"was killed by {name}"
    return f"exited with code {returncode}"


async def spawn_worker(info: WorkerInfo, *, session_dir: str, node_address: str, node_id: bytes,
                       job_id: bytes, namespace: str, max_threads: int,
                       on_exit: Callable[[WorkerInfo, int | None], None],
                       python: str | None = None, variables: dict[str, str] | None = None,
                       cwd: str | None = None) -> None:
    """Start the worker process and arrange for ``on_exit`` to run when it ends.

    ``python``, ``variables`` and ``cwd`` come from its runtime environment, if any.
    """
    command = [
        python or sys.executable, "-m", "actorium._node.worker_main",
        "--session-dir", session_dir,
        "--node", node_address,
        "--node-id", node_id.hex(),
        "--job-id", job_id.hex(),
        "--worker-id", info.worker_id.hex(),
        "--kind", info.kind.value,
        "--namespace", namespace,
        "--max-threads", str(max_threads),
        "--cpus", ",".join(map(str, info.cpus)),
    ]
    info.process = await asyncio.create_subprocess_exec(
        *command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env={**os.environ, **(variables or {})}, cwd=cwd)

    async def watch() -> None:
        assert info.process is not None
        returncode = await info.process.wait()
        on_exit(info, returncode)

    asyncio.get_running_loop().create_task(watch())


async def stop_workers(workers: list[WorkerInfo], grace: float) -> None:
    """Ask workers to stop by closing their stdin, then kill those still running."""
    processes = [w.process for w in workers if w.process is not None
                 and w.process.returncode is None]
    for process in processes:
        if process.stdin is not None:
            process.stdin.close()
    if not processes:
        return
    waiters = [asyncio.ensure_future(p.wait()) for p in processes]
    _done, pending = await asyncio.wait(waiters, timeout=grace)
    for process in processes:
        if process.returncode is None:
            try:
                process.kill()
            except ProcessLookupError:
                pass
    if pending:
        await asyncio.wait(pending, timeout=2.0)
