"""Killing and pausing the runtime's processes from a test, at the moment the test chooses.

The node notices a worker's death the moment it exits, so ``kill_actor_worker(actor)`` exercises
the same path as a segfault or the OOM killer. ``pause()`` stops a process with SIGSTOP (it
keeps its sockets and state, but answers nothing) and continues it with SIGCONT on leaving the
block: a hung process, not a dead one.

Every function finds pids through the state API, so it works on the runtime this driver runs
or is connected to on this machine.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from actorium._core.actor import ActorHandle
from actorium.util import state

WORKER_KINDS = ("task", "host", "dedicated")


def actor_pid(actor: ActorHandle[Any]) -> int:
    """The pid of the process hosting ``actor`` now (it changes when the actor restarts).

    Raises ``LookupError`` if the actor is not placed in a live process (dead, or restarting).
    """
    if not isinstance(actor, ActorHandle):
        raise TypeError(f"actor_pid() takes an actor handle, got {type(actor).__name__}")
    record = state.get_actor(actor.actor_id)
    pid = record.get("pid") if record is not None else None
    if not pid or record is None or record.get("state") not in ("ALIVE", "PENDING_CREATION"):
        where = record.get("state") if record is not None else "unknown to the node"
        raise LookupError(f"actor {actor.actor_id} has no live process ({where})")
    return int(pid)


def worker_pids(kind: str | None = None) -> list[int]:
    """Pids of the node's live worker processes, of one ``kind`` ("task", "host",
    "dedicated") or all, in a stable order (by pid)."""
    if kind is not None and kind not in WORKER_KINDS:
        raise ValueError(f"unknown worker kind {kind!r}; use one of {WORKER_KINDS}")
    return sorted(pid for pid, of_kind in live_workers() if kind is None or of_kind == kind)


def live_workers() -> list[tuple[int, str]]:
    """(pid, kind) of every live worker process of the runtime, from one state query."""
    return [(int(row["pid"]), str(row.get("kind"))) for row in state.list_workers()
            if row.get("pid") and row.get("state") != "DEAD"]


def kill_process(pid: int, sig: int = signal.SIGKILL) -> None:
    """Send ``sig`` (default SIGKILL) to one of the runtime's processes.

    Refuses a pid that is not a worker of this runtime, so a typo cannot kill the test.
    """
    if pid not in worker_pids():
        raise ValueError(f"pid {pid} is not a live worker of this runtime (its workers: "
                         f"{worker_pids()})")
    os.kill(pid, sig)


def kill_actor_worker(actor: ActorHandle[Any], sig: int = signal.SIGKILL) -> int:
    """Kill the process hosting ``actor`` (and every actor sharing it); returns its pid.

    Unlike ``actorium.kill(actor)``, the runtime is not told: it sees a crash, so restarts,
    retries and supervisors behave exactly as after a real crash.
    """
    pid = actor_pid(actor)
    os.kill(pid, sig)
    return pid


@contextmanager
def pause(target: int | ActorHandle[Any]) -> Iterator[int]:
    """Stop a worker (a pid, or the process hosting an actor) for the block: SIGSTOP, then
    SIGCONT on leaving, even if the block raised. Yields the pid."""
    pid = actor_pid(target) if isinstance(target, ActorHandle) else target
    if isinstance(target, int):
        kill_process(pid, signal.SIGSTOP)
    else:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield pid
    finally:
        try:
            os.kill(pid, signal.SIGCONT)
        except ProcessLookupError:
            pass   # killed meanwhile (by the test or the runtime): nothing to continue
