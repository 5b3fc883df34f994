"""Entry point of the node daemon process: ``python -m actorium._node.node_main``."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from typing import Any

import uvloop

from actorium._head.service import HeadService
from actorium._jobs import ADDRESS_ENV, JOB_NODE_ENV
from actorium._jobs.manager import JobManager
from actorium._jobs.store import JobStore
from actorium._node.cluster_link import ClusterLink
from actorium._node.node import Node
from actorium._node.observer import bind_dashboard_socket
from actorium._node.parent_watch import watch_parent_pipe
from actorium._node.session_dirs import remove_session_dir
from actorium._transport.auth import (
    BIND_HOST_ENV,
    TOKEN_ENV,
    check_bind_host,
    token_from_environment,
)

DEFAULT_DASHBOARD_PORT = 8265


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="actorium-node")
    parser.add_argument("--session-dir", required=True)
    parser.add_argument("--num-cpus", type=int, required=True)
    parser.add_argument("--resources", default="{}")
    parser.add_argument("--namespace", default="default")
    parser.add_argument("--ready-fd", type=int, default=-1)
    parser.add_argument("--max-threads", type=int, default=64)
    # Cluster mode: listen on tcp at --bind-host, join the head at --head-address, or run
    # the head service here on --head-port. --detached: started by `actorium start`, stopped
    # by SIGTERM (`actorium stop`) rather than by its parent's pipe closing.
    parser.add_argument("--bind-host", default=None)
    parser.add_argument("--head-address", default=None)
    parser.add_argument("--head-port", type=int, default=None)
    parser.add_argument("--detached", action="store_true")
    parser.add_argument("--dashboard-host", default="127.0.0.1")
    parser.add_argument("--dashboard-port", type=int, default=DEFAULT_DASHBOARD_PORT)
    parser.add_argument("--dashboard-port-given", action="store_true",
                        help="fail instead of moving on when the port is taken")
    parser.add_argument("--no-dashboard", action="store_true")
    return parser.parse_args(argv)


async def _serve(options: argparse.Namespace) -> None:
    token = token_from_environment()
    if token is None:
        raise SystemExit(f"actorium node: no cluster token in {TOKEN_ENV}")
    bind_host = options.bind_host
    if bind_host is not None:
        check_bind_host(bind_host, token)
        os.environ[BIND_HOST_ENV] = bind_host   # the node's workers listen there too
    node = Node(session_dir=options.session_dir, num_cpus=options.num_cpus,
                resources=json.loads(options.resources), namespace=options.namespace,
                max_threads=options.max_threads, token=token, bind_host=bind_host)
    dashboard_url = ""
    if not options.no_dashboard:
        # Bound now, served once the node is up: the URL is known to init() at once, and
        # importing aiohttp does not delay the moment the driver can start working.
        try:
            check_bind_host(options.dashboard_host, token)
            listener = bind_dashboard_socket(options.dashboard_host, options.dashboard_port,
                                             port_was_given=options.dashboard_port_given)
        except (OSError, ValueError) as exc:
            _report_ready(options.ready_fd, {"error": str(exc)})
            node.close()
            return
        node.observer.dashboard_socket = listener
        node.observer.preload_dashboard()
        host, port = listener.getsockname()[:2]
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        dashboard_url = f"http://{shown}:{port}"
    head: HeadService | None = None
    head_address = options.head_address
    if options.head_port is not None:
        head_address = f"tcp://{bind_host or '127.0.0.1'}:{options.head_port}"
        head = HeadService(address=head_address, auth=node.auth, zmq_context=node.zmq_context,
                           session_dir=options.session_dir)
        head.on_event = node.observer.events.record
        head.start()
        node.head = head
        node.jobs = _job_manager(node, head_address, token, options.session_dir)
    node.start()
    link = None
    if head_address is not None:
        link = ClusterLink(node, head_address)
        link.start()
    node.virtual.start()   # alone: its reminder service (in a cluster the head runs it)
    loop = asyncio.get_running_loop()
    if options.detached:
        loop.add_signal_handler(signal.SIGTERM, lambda: _start(loop, node.shutdown()))
        loop.add_signal_handler(signal.SIGINT, lambda: _start(loop, node.shutdown()))
    else:
        watch_parent_pipe(loop, lambda: _start(loop, node.shutdown()))
    if link is not None:
        try:
            await asyncio.wait_for(link.registered.wait(), 30.0)
        except TimeoutError:
            raise SystemExit(f"actorium node: the head at {head_address} did not answer within "
                             f"30 s (is it running, and is the token right?)") from None
    dashboard_error = await node.observer.start_dashboard(token) if dashboard_url else ""
    if dashboard_error:
        dashboard_url = ""
        print(f"actorium node: the dashboard could not start: {dashboard_error}",
              file=sys.stderr)
    _report_ready(options.ready_fd, {"address": node.address, "node_id": node.node_id.hex(),
                                     "head_address": head_address, "pid": os.getpid(),
                                     "dashboard_url": dashboard_url,
                                     "dashboard_error": dashboard_error})
    await node.stopped.wait()
    if link is not None:
        await asyncio.sleep(0.1)   # let the goodbye to the head leave
    if head is not None:
        await head.virtual.close()
        head.close()
    node.close()
    # The session directory holds only this runtime's sockets; a driver killed with SIGKILL
    # cannot remove it, so the node does.
    remove_session_dir(options.session_dir)


def _job_manager(node: Node, head_address: str, token: str, session_dir: str) -> JobManager:
    """The head's job manager; it finds the jobs an earlier head of this session left."""
    manager = JobManager(
        JobStore(os.path.join(session_dir, "jobs")), acquire_env=node.envs.acquire,
        release_env=node.envs.release, resources=node.resources, node_id=node.node_id.hex(),
        on_ended=node.job_ended,
        driver_variables={ADDRESS_ENV: head_address.removeprefix("tcp://"), TOKEN_ENV: token,
                          JOB_NODE_ENV: node.node_id.hex()})
    manager.recover()
    return manager


def _report_ready(ready_fd: int, info: dict[str, Any]) -> None:
    """Tell the launching process how to reach the node, or why it could not start."""
    if ready_fd >= 0:
        os.write(ready_fd, json.dumps(info).encode() + b"\n")
        os.close(ready_fd)


def _start(loop: asyncio.AbstractEventLoop, coroutine: Any) -> None:
    loop.create_task(coroutine)


def main(argv: list[str] | None = None) -> None:
    uvloop.run(_serve(_parse(argv)))


if __name__ == "__main__":
    main()
