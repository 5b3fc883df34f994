"""Connecting a driver to a running cluster: ``init(address="auto" | "HOST:PORT")``.

The driver asks the head (once) for the live nodes, attaches to the node on its own machine
if there is one (else to the head's node), and from then on talks to that node and to workers
directly, like a driver of an embedded runtime. Its inbox listens on the address through which
this machine reaches the head, so that workers on other machines can send results back.
"""

from __future__ import annotations

import os
import socket
from typing import Any

from actorium._cluster.daemon import local_cluster
from actorium._core.ids import random_id
from actorium._core.runtime import Runtime
from actorium._jobs import JOB_NODE_ENV, JOB_SUBMISSION_ENV
from actorium._node.session_dirs import new_session_dir, remove_session_dir
from actorium._transport.auth import TOKEN_ENV, token_from_environment
from actorium.exceptions import GetTimeoutError

_ANSWER_TIMEOUT = 10.0


def resolve(address: str) -> tuple[str, str]:
    """(``tcp://HOST:PORT`` of the head, token) for an ``init()`` address. ConnectionError if
    there is nothing to connect to or no token for it."""
    if "://" in address and not address.startswith("tcp://"):
        raise ConnectionError(f"cannot connect to {address!r}: only 'auto' and HOST:PORT "
                              f"addresses of an actorium cluster are supported")
    local = local_cluster()
    if address == "auto":
        if local is None:
            raise ConnectionError("init(address='auto'): no actorium cluster was started on "
                                  "this machine (run `actorium start --head` first)")
        address = local[0]
    host, _, port = address.removeprefix("tcp://").rpartition(":")
    if not host or not port.isdigit():
        raise ConnectionError(f"cannot connect to {address!r}: expected HOST:PORT or 'auto'")
    token = token_from_environment()
    if token is None and local is not None and local[0] == f"{host}:{port}":
        token = local[1]
    if token is None:
        raise ConnectionError(f"cannot connect to {address}: no cluster token; set {TOKEN_ENV} "
                              f"to the token printed by `actorium start --head`")
    return f"tcp://{host}:{port}", token


def local_ip_towards(host: str) -> str:
    """This machine's address on the route to ``host`` (no packet is sent)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect((host, 9))
            return str(probe.getsockname()[0])
    except OSError:
        return "127.0.0.1"


def connect(address: str, namespace: str) -> tuple[Runtime, dict[str, Any]]:
    """A started driver runtime registered with a node of the cluster at ``address``."""
    head, token = resolve(address)
    head_host = head.removeprefix("tcp://").rpartition(":")[0]
    bind_host = local_ip_towards(head_host)
    session_dir = new_session_dir()
    try:
        runtime = Runtime(role="driver", worker_id=random_id(16), session_dir=session_dir,
                          node_address=head, namespace=namespace, token=token,
                          bind_host=bind_host)
    except BaseException:
        remove_session_dir(session_dir)
        raise
    try:
        runtime.start_loop_thread()
        try:
            view = runtime.request("view", caller="init", timeout=_ANSWER_TIMEOUT)
        except GetTimeoutError:
            raise ConnectionError(f"the actorium head at {address} did not answer within "
                                  f"{_ANSWER_TIMEOUT:g} s: is it running, and is the token "
                                  f"right?") from None
        alive = [n for n in view if n["alive"]]
        if not alive:
            raise ConnectionError(f"the cluster at {address} has no live node")
        mine = [n for n in alive if n["ip"] == bind_host]
        # A submitted job's driver attaches to the node that runs the job (the head's).
        wanted = os.environ.get(JOB_NODE_ENV)
        chosen = [n for n in alive if n["node_id"].hex() == wanted] if wanted else []
        node = (chosen or mine or alive)[0]
        runtime.node_address = node["address"]
        runtime.node_id = node["node_id"]
        registered = runtime.request("register_driver", runtime.address,
                                     os.environ.get(JOB_SUBMISSION_ENV), caller="init")
        runtime.job_id = registered["job_id"]
    except BaseException:
        runtime.close()
        remove_session_dir(session_dir)
        raise
    return runtime, {"head": head, "session_dir": session_dir, "pid": os.getpid()}


def disconnect(runtime: Runtime) -> None:
    """Leave the cluster (it keeps running) and remove this driver's session directory."""
    try:
        runtime.notify_node("unregister_driver", runtime.address)
    except Exception:  # noqa: BLE001 - leaving anyway
        pass
    runtime.close(flush_seconds=0.5)
    remove_session_dir(runtime.session_dir)   # with the driver's shared-memory objects
