"""Starting a small cluster of separate node processes on this machine, for the tests."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

CLI_TIMEOUT = 90.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def actorium_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "actorium.cli", *args], env=env, text=True,
                          capture_output=True, timeout=CLI_TIMEOUT, check=False)


@contextmanager
def local_cluster(cluster_dir: str, nodes: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """A head (``nodes[0]``) and joined nodes, each a node daemon with its own resources.

    ``ACTORIUM_CLUSTER_DIR`` is set for the duration so that ``init(address="auto")`` finds it;
    everything is stopped with ``actorium stop`` on the way out.
    """
    env = dict(os.environ, ACTORIUM_CLUSTER_DIR=cluster_dir)
    env.pop("ACTORIUM_CLUSTER_TOKEN", None)
    port = free_port()
    previous = os.environ.get("ACTORIUM_CLUSTER_DIR")
    os.environ["ACTORIUM_CLUSTER_DIR"] = cluster_dir
    try:
        outputs = []
        for index, spec in enumerate(nodes):
            role = ["--head", "--port", str(port)] if index == 0 else \
                ["--address", f"127.0.0.1:{port}"]
            result = actorium_cli("start", *role, "--num-cpus", str(spec.get("num_cpus", 1)),
                                  "--resources", spec.get("resources", "{}"),
                                  *spec.get("args", []), env={**env, **spec.get("env", {})})
            assert result.returncode == 0, result.stdout + result.stderr
            outputs.append(result.stdout)
        yield {"address": f"127.0.0.1:{port}", "env": env, "outputs": outputs}
    finally:
        stopped = actorium_cli("stop", env=env)
        if previous is None:
            os.environ.pop("ACTORIUM_CLUSTER_DIR", None)
        else:
            os.environ["ACTORIUM_CLUSTER_DIR"] = previous
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr


def daemons(cluster_dir: str) -> list[dict[str, Any]]:
    """What each node daemon of a local cluster wrote about itself (pid, node id, dirs)."""
    found = []
    for name in os.listdir(os.path.join(cluster_dir, "nodes")):
        with open(os.path.join(cluster_dir, "nodes", name)) as file:
            found.append(json.load(file))
    return found
