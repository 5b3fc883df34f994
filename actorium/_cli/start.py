"""``actorium start``: start the head (``--head``) or join a node to a cluster (``--address``)."""

from __future__ import annotations

import argparse
import json
import os
import sys

from actorium._cli.progress import finish_waiting, waiting
from actorium._cluster.daemon import (
    StopRequests,
    follow,
    local_cluster,
    save_cluster,
    start_daemon,
)
from actorium._transport.auth import TOKEN_ENV, check_bind_host, new_token, token_from_environment
from actorium._virtual.stores import STORE_ENV, check_url
from actorium.exceptions import ActoriumError

NAME = "start"


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(NAME, help="start a head or a node in the background")
    role = parser.add_mutually_exclusive_group(required=True)
    role.add_argument("--head", action="store_true", help="start the head service and a node")
    role.add_argument("--address", help="HOST:PORT of the head to join")
    parser.add_argument("--port", type=int, default=6379, help="head port (default 6379)")
    parser.add_argument("--node-ip-address", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1: this machine only)")
    parser.add_argument("--num-cpus", type=int, default=None)
    parser.add_argument("--num-gpus", type=int, default=None,
                        help="GPUs of this node (default: those nvidia-smi lists)")
    parser.add_argument("--resources", default="{}",
                        help='custom resources, e.g. \'{"accelerator_x": 1}\'')
    parser.add_argument("--dashboard-host", default="127.0.0.1",
                        help="where the head serves the dashboard (default 127.0.0.1)")
    parser.add_argument("--dashboard-port", type=int, default=None,
                        help="dashboard port of the head (default 8265, or the next free one; "
                             "a port you name must be free)")
    parser.add_argument("--no-dashboard", action="store_true", help="serve no dashboard")
    parser.add_argument("--block", action="store_true",
                        help="stay in the foreground, print the node's log and stop it on "
                             "SIGTERM (for containers and service managers)")
    parser.add_argument("--state-store", default=None,
                        help="state store of virtual actors: sqlite:////path.db or "
                             "postgresql://user@host:port/db (default: $ACTORIUM_STATE_STORE, "
                             "else ~/.local/share/actorium/state.sqlite3)")
    parser.add_argument("--token", default=None,
                        help=f"cluster token (default: {TOKEN_ENV}, or a new one for --head)")


def run(options: argparse.Namespace) -> int:
    try:
        resources = json.loads(options.resources)
        if not isinstance(resources, dict):
            raise ValueError("not an object")
    except ValueError as exc:
        print(f"actorium start: --resources must be a JSON object: {exc}")
        return 2
    if "GPU" in resources or "CPU" in resources:
        print("actorium start: give CPUs and GPUs with --num-cpus / --num-gpus, not --resources")
        return 2
    if options.num_gpus is not None:
        if options.num_gpus < 0:
            print(f"actorium start: --num-gpus must be >= 0, got {options.num_gpus}")
            return 2
        resources["GPU"] = float(options.num_gpus)
    if options.state_store is not None:
        try:
            os.environ[STORE_ENV] = check_url(options.state_store)   # the daemon inherits it
        except (TypeError, ValueError) as exc:
            print(f"actorium start: --state-store: {exc}")
            return 2
    host = options.node_ip_address
    num_cpus = options.num_cpus or os.cpu_count() or 1
    token = options.token or token_from_environment()
    if options.head:
        token = token or new_token()
    elif token is None:
        local = local_cluster()
        token = local[1] if local is not None and local[0] == options.address else None
    try:
        check_bind_host(host, token)
    except ValueError as exc:
        print(f"actorium start: {exc}")
        return 2
    assert token is not None
    stops = StopRequests() if options.block else None
    try:
        if options.head:
            dashboard = ["--dashboard-host", options.dashboard_host]
            if options.no_dashboard:
                dashboard = ["--no-dashboard"]
            elif options.dashboard_port is not None:
                dashboard += ["--dashboard-port", str(options.dashboard_port),
                              "--dashboard-port-given"]
            info = start_daemon(token=token, bind_host=host, num_cpus=num_cpus,
                                resources=resources, head_port=options.port,
                                dashboard=dashboard, progress=waiting("the head"))
            finish_waiting()
            address = f"{host}:{options.port}"
            save_cluster(address, token, info["session_dir"], info.get("dashboard_url") or "")
            board = info.get("dashboard_url")
            shown = f"Dashboard: {board}/?token={token}\n\n" if board else ""
            if info.get("dashboard_error"):
                shown = f"No dashboard: it could not start: {info['dashboard_error']}\n\n"
            print(f"Started the actorium head at {address} (node {info['node_id']}).\n\n"
                  f"{shown}"
                  f"Join another machine:\n"
                  f"  actorium start --address {address} --token {token}"
                  f" --node-ip-address <ITS_IP>\n\n"
                  f"Connect from Python on this machine:\n"
                  f"  import actorium; actorium.init(address=\"auto\")\n"
                  f"and from elsewhere:\n"
                  f"  {TOKEN_ENV}={token} python -c 'import actorium; "
                  f"actorium.init(address=\"{address}\")'\n\n"
                  f"Stop it with: actorium stop")
        else:
            head = options.address.removeprefix("tcp://")
            info = start_daemon(token=token, bind_host=host, num_cpus=num_cpus,
                                resources=resources, head_address=f"tcp://{head}",
                                progress=waiting(f"the head at {head} to accept this node"))
            finish_waiting()
            print(f"Started an actorium node (node {info['node_id']}) in the cluster at {head}.")
    except ActoriumError as exc:
        finish_waiting()
        print(f"actorium start: {exc}")
        return 1
    if stops is not None:
        sys.stdout.flush()
        return follow(info, stops)
    return 0
