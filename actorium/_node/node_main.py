"""Entry point of the node daemon process: ``python -m actorium._node.node_main``."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
from typing import Any

import uvloop

from actorium._node.node import Node
from actorium._node.parent_watch import watch_parent_pipe
from actorium._store.paths import remove_store


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="actorium-node")
    parser.add_argument("--session-dir", required=True)
    parser.add_argument("--num-cpus", type=int, required=True)
    parser.add_argument("--resources", default="{}")
    parser.add_argument("--namespace", default="default")
    parser.add_argument("--ready-fd", type=int, default=-1)
    parser.add_argument("--max-threads", type=int, default=64)
    return parser.parse_args(argv)


async def _serve(options: argparse.Namespace) -> None:
    node = Node(session_dir=options.session_dir, num_cpus=options.num_cpus,
                resources=json.loads(options.resources), namespace=options.namespace,
                max_threads=options.max_threads)
    node.start()
    loop = asyncio.get_running_loop()
    watch_parent_pipe(loop, lambda: _start(loop, node.shutdown()))
    if options.ready_fd >= 0:
        os.write(options.ready_fd, json.dumps({"address": node.address,
                                               "node_id": node.node_id.hex()}).encode() + b"\n")
        os.close(options.ready_fd)
    await node.stopped.wait()
    node.close()
    # The session directory holds only this runtime's sockets; a driver killed with SIGKILL
    # cannot remove it, so the node does.
    remove_store(options.session_dir)
    shutil.rmtree(options.session_dir, ignore_errors=True)


def _start(loop: asyncio.AbstractEventLoop, coroutine: Any) -> None:
    loop.create_task(coroutine)


def main(argv: list[str] | None = None) -> None:
    uvloop.run(_serve(_parse(argv)))


if __name__ == "__main__":
    main()
