"""Entry point of the node daemon process: ``python -m actorium._node.node_main``."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
from typing import Any

import uvloop

from actorium._node.node import Node
from actorium._node.observer import bind_dashboard_socket
from actorium._node.parent_watch import watch_parent_pipe
from actorium._observe.token import load_or_create_token

DEFAULT_DASHBOARD_PORT = 8265


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="actorium-node")
    parser.add_argument("--session-dir", required=True)
    parser.add_argument("--num-cpus", type=int, required=True)
    parser.add_argument("--resources", default="{}")
    parser.add_argument("--namespace", default="default")
    parser.add_argument("--ready-fd", type=int, default=-1)
    parser.add_argument("--max-threads", type=int, default=64)
    parser.add_argument("--dashboard-host", default="127.0.0.1")
    parser.add_argument("--dashboard-port", type=int, default=DEFAULT_DASHBOARD_PORT)
    parser.add_argument("--dashboard-port-given", action="store_true",
                        help="fail instead of moving on when the port is taken")
    parser.add_argument("--no-dashboard", action="store_true")
    return parser.parse_args(argv)


async def _serve(options: argparse.Namespace) -> None:
    token = load_or_create_token(options.session_dir)
    node = Node(session_dir=options.session_dir, num_cpus=options.num_cpus,
                resources=json.loads(options.resources), namespace=options.namespace,
                max_threads=options.max_threads, token=token)
    dashboard_url = ""
    if not options.no_dashboard:
        # Bound now, served once the node is up: the URL is known to init() at once, and
        # importing aiohttp does not delay the moment the driver can start working.
        try:
            listener = bind_dashboard_socket(options.dashboard_host, options.dashboard_port,
                                             port_was_given=options.dashboard_port_given)
        except OSError as exc:
            _report_ready(options.ready_fd, {"error": str(exc)})
            node.close()
            return
        node.observer.dashboard_socket = listener
        host, port = listener.getsockname()[:2]
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        dashboard_url = f"http://{shown}:{port}"
    node.start()
    loop = asyncio.get_running_loop()
    watch_parent_pipe(loop, lambda: _start(loop, node.shutdown()))
    _report_ready(options.ready_fd, {"address": node.address, "node_id": node.node_id.hex(),
                                     "dashboard_url": dashboard_url})
    if dashboard_url:
        try:
            await node.observer.start_dashboard(token)
        except ImportError:
            print("actorium node: the dashboard needs aiohttp (pip install 'actorium[dashboard]')",
                  file=sys.stderr)
        except Exception as exc:  # noqa: BLE001 - the runtime works without its dashboard
            print(f"actorium node: the dashboard could not start: {exc}", file=sys.stderr)
    await node.stopped.wait()
    node.close()
    # The session directory holds only this runtime's sockets; a driver killed with SIGKILL
    # cannot remove it, so the node does.
    shutil.rmtree(options.session_dir, ignore_errors=True)


def _report_ready(ready_fd: int, info: dict[str, Any]) -> None:
    """Tell the launching driver how to reach the node, or why it could not start."""
    if ready_fd >= 0:
        os.write(ready_fd, json.dumps(info).encode() + b"\n")
        os.close(ready_fd)


def _start(loop: asyncio.AbstractEventLoop, coroutine: Any) -> None:
    loop.create_task(coroutine)


def main(argv: list[str] | None = None) -> None:
    uvloop.run(_serve(_parse(argv)))


if __name__ == "__main__":
    main()
