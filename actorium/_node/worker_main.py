"""Entry point of a worker process: ``python -m actorium._node.worker_main``.

The worker binds its inbox, registers with the node, then serves tasks and actor calls until
the node tells it to stop or its stdin (a pipe from the node) closes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from typing import Any

import uvloop

from actorium._core import context, execution
from actorium._core.affinity import pin_process
from actorium._core.runtime import Runtime
from actorium._core.worker import WorkerExecutor
from actorium._node.parent_watch import watch_parent_pipe
from actorium._observe import worker_output, worker_stats
from actorium._runtime_env.manager import ENV_VARIABLE
from actorium._transport.auth import BIND_HOST_ENV
from actorium._transport.protocol import Kind
from actorium._virtual.host import VirtualHost
from actorium._virtual.stores import close_stores


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="actorium-worker")
    for name in ("--session-dir", "--node", "--node-id", "--job-id", "--worker-id", "--kind"):
        parser.add_argument(name, required=True)
    parser.add_argument("--namespace", default="default")
    parser.add_argument("--max-threads", type=int, default=64)
    parser.add_argument("--cpus", default="", help="comma-separated cores to stay on")
    return parser.parse_args(argv)


async def _serve(options: argparse.Namespace, cores: list[int]) -> None:
    runtime = Runtime(role="worker", worker_id=bytes.fromhex(options.worker_id),
                      session_dir=options.session_dir, node_address=options.node,
                      node_id=bytes.fromhex(options.node_id), job_id=bytes.fromhex(options.job_id),
                      namespace=options.namespace,
                      bind_host=os.environ.get(BIND_HOST_ENV) or None)
    runtime.envs.adopt(_own_runtime_env())
    context.set_runtime(runtime)
    loop = asyncio.get_running_loop()
    runtime.attach_loop(loop)
    executor = WorkerExecutor(runtime, max_threads=options.max_threads, cores=cores)
    VirtualHost(executor)
    execution.on_finished = worker_stats.stats.record
    worker_output.class_of = lambda actor_id: getattr(executor.actors.get(actor_id),
                                                      "class_name", None)
    reporter = loop.create_task(worker_stats.report_forever(executor))
    watch_parent_pipe(loop, executor.stopped.set)
    runtime.send(options.node, [Kind.REGISTER, "worker", runtime.worker_id, runtime.address,
                                os.getpid(), options.kind])
    await executor.stopped.wait()
    reporter.cancel()
    await close_stores()
    # Let results queued by pool threads reach their callers before the process ends.
    runtime.close(flush_seconds=2.0)


def _own_runtime_env() -> dict[str, Any] | None:
    """The runtime environment this worker was started in (set by its node), if any."""
    text = os.environ.get(ENV_VARIABLE)
    return json.loads(text) if text else None


def main(argv: list[str] | None = None) -> None:
    # Let pickled-by-reference user code import from the driver's directories; in a runtime
    # environment that ships code (working_dir, py_modules), that code comes first.
    extra = [p for p in os.environ.get("ACTORIUM_DRIVER_PATH", "").split(os.pathsep) if p]
    env = _own_runtime_env()
    ships_code = env is not None and bool(env["env"].get("working_dir")
                                          or env["env"].get("py_modules"))
    missing = [p for p in extra if p not in sys.path]
    if ships_code:
        sys.path.extend(missing)
    else:
        sys.path[0:0] = missing
    options = _parse(argv)
    worker_output.install(sys)
    cores = [int(c) for c in options.cpus.split(",") if c]
    pin_process(cores)  # before any thread starts, so that all inherit it
    uvloop.run(_serve(options, cores))
    sys.stdout.flush()
    sys.stderr.flush()
    # Pool threads may be inside user code; the process is done either way.
    os._exit(0)


if __name__ == "__main__":
    main()
