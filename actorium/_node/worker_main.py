"""Entry point of a worker process: ``python -m actorium._node.worker_main``.

The worker binds its inbox, registers with the node, then serves tasks and actor calls until
the node tells it to stop or its stdin (a pipe from the node) closes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

import uvloop

from actorium._core import context, execution
from actorium._core.affinity import pin_process
from actorium._core.runtime import Runtime
from actorium._core.worker import WorkerExecutor
from actorium._node.parent_watch import watch_parent_pipe
from actorium._observe import worker_output, worker_stats
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


def main(argv: list[str] | None = None) -> None:
    # Let pickled-by-reference user code import from the driver's directories.
    extra = os.environ.get("ACTORIUM_DRIVER_PATH", "")
    for path in reversed([p for p in extra.split(os.pathsep) if p]):
        if path not in sys.path:
            sys.path.insert(0, path)
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
