"""Killing a whole node from a test: the machine it ran on is gone, at the moment the test says.

``kill_node(node_id)`` stops the node daemon and every worker it started (SIGSTOP, so none of
them sends anything after another one died), then sends them all the signal (SIGKILL by
default) and lets them continue. What the rest of the cluster sees is a host crash: the head
stops hearing the node's heartbeats and declares it dead after its timeout, its actors restart
elsewhere within their ``max_restarts``, its tasks are retried within their ``max_retries``.
``kill_node("head")`` kills the head node, the head service with it. ``pause_node(node)``
stops a node's daemon for a block (its workers run on): on the head node that is a hung head
service, which its nodes notice through their heartbeats.

Pids come from the state API (each node's row carries its daemon's ``pid``), so this works on
the runtime this driver runs or is attached to, as long as the node runs on this machine.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from actorium.util import state

HEAD = "head"


def node_pid(node: str) -> int:
    """The pid of a live node's daemon: ``node`` is a node id (hex) or ``"head"``.

    Raises ``LookupError`` naming the live nodes if there is no such live node.
    """
    return int(_find(node)["pid"])


def kill_node(node: str, sig: int = signal.SIGKILL) -> int:
    """Kill a node and every worker it runs, all at once; returns the daemon's pid.

    ``node`` is a node id (hex, as ``actorium.get_runtime_context().get_node_id()`` gives) or
    ``"head"``. Does not wait for the cluster to notice: the head declares the node dead after
    its heartbeat timeout (a few seconds). Killing the node this driver is attached to ends
    the driver's runtime too; its next call fails.
    Raises ``LookupError`` if no live node matches.
    """
    row = _find(node)
    node_id = row["node_id"]
    pid = int(row["pid"])
    workers = [int(w["pid"]) for w in state.list_workers()
               if w.get("pid") and w.get("state") != "DEAD"
               and w.get("node_id", node_id) == node_id]
    doomed = [pid, *workers]
    _signal(doomed, signal.SIGSTOP)    # frozen together: nobody outlives the others
    _signal(doomed, sig)
    _signal(doomed, signal.SIGCONT)    # a non-fatal signal is then handled as usual
    return pid


@contextmanager
def pause_node(node: str) -> Iterator[int]:
    """Stop a node's daemon for the block (SIGSTOP, then SIGCONT on leaving, even if the block
    raised); yields its pid. ``node`` is a node id (hex) or ``"head"``.

    The daemon keeps its sockets and state but handles nothing: messages to it wait in the
    kernel's buffers, its heartbeats stop, and on the head node the head service is frozen
    with it. Its workers are not stopped (calls between workers that are already connected
    go on). Raises ``LookupError`` if no live node matches.
    """
    pid = node_pid(node)
    os.kill(pid, signal.SIGSTOP)
    try:
        yield pid
    finally:
        _signal([pid], signal.SIGCONT)


def _find(node: str) -> dict[str, Any]:
    if not isinstance(node, str):
        raise TypeError(f"a node is named by its id (hex str) or 'head', got "
                        f"{type(node).__name__}")
    alive = [row for row in state.list_nodes() if row.get("state") == "ALIVE"]
    for row in alive:
        if (node == HEAD and row.get("is_head")) or row.get("node_id") == node:
            if not row.get("pid"):
                raise LookupError(f"node {row.get('node_id')} does not report its pid "
                                  f"(an older actorium?)")
            return row
    ids = ", ".join(str(row.get("node_id")) for row in alive) or "none"
    raise LookupError(f"no live node {node!r} in this cluster (live nodes: {ids})")


def _signal(pids: Iterable[int], sig: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass   # died on its own meanwhile
