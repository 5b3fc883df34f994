"""A cluster on this machine: a head and two nodes started with the CLI, one program over all.

    python examples/cluster.py

It does by itself what you would type on several machines (see docs/cluster.md):

    actorium start --head --port PORT              # on the head machine
    actorium start --address HEAD:PORT --token T   # on every other machine
    python my_program.py                           # calls actorium.init(address=...)
    actorium stop                                  # on every machine

then runs the classic seed program (1000 tiny tasks that return the id of the node they ran
on), places one actor per node with a STRICT_SPREAD placement group, lists the cluster's
actors with the state API, and stops everything.
"""

from __future__ import annotations

import argparse
import collections
import os
import socket
import subprocess
import sys
import tempfile

import actorium
from actorium.util import placement_group, remove_placement_group, state
from actorium.util.scheduling_strategies import PlacementGroupSchedulingStrategy


@actorium.remote
def node_id() -> str:
    return actorium.get_runtime_context().get_node_id()


@actorium.remote
class Greeter:
    def hello(self) -> str:
        return f"hello from node {actorium.get_runtime_context().get_node_id()[:8]}"


def actorium_cli(*args: str) -> str:
    """Run the ``actorium`` command (as ``python -m actorium.cli``, which is the same)."""
    done = subprocess.run([sys.executable, "-m", "actorium.cli", *args], capture_output=True,
                          text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise SystemExit(f"actorium {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run(nodes: int, tasks: int) -> None:
    actorium.init(address="auto")
    try:
        alive = [n["NodeID"] for n in actorium.nodes() if n["Alive"]]
        print(f"nodes in the cluster: {len(alive)}")
        counts = collections.Counter(actorium.get([node_id.remote() for _ in range(tasks)]))
        print(f"{tasks} tasks ran on {len(counts)} nodes:")
        for node, count in sorted(counts.items()):
            print(f"  node {node[:8]}  {count:4d} tasks")
        print(f"every node ran tasks: {set(counts) == set(alive)}")

        group = placement_group([{"CPU": 0.5}] * len(alive), strategy="STRICT_SPREAD")
        actorium.get(group.ready())
        greeters = [Greeter.options(scheduling_strategy=PlacementGroupSchedulingStrategy(
            group, placement_group_bundle_index=index)).remote() for index in range(len(alive))]
        for line in sorted(actorium.get([g.hello.remote() for g in greeters])):
            print(f"  {line}")
        per_node = collections.Counter(a.node_id[:8] for a in state.list_actors(
            filters=[("state", "=", "ALIVE")]))
        print(f"alive actors per node (state API): {sorted(per_node.values())}")
        remove_placement_group(group)   # also ends the greeters placed in it
    finally:
        actorium.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=str(__doc__).splitlines()[0])
    parser.add_argument("--nodes", type=int, default=2, help="nodes besides the head")
    parser.add_argument("--tasks", type=int, default=1000)
    options = parser.parse_args()
    # A cluster directory of our own: this example never touches a cluster you started.
    with tempfile.TemporaryDirectory(prefix="actorium-example-") as cluster_dir:
        os.environ["ACTORIUM_CLUSTER_DIR"] = cluster_dir
        os.environ.pop("ACTORIUM_CLUSTER_TOKEN", None)
        port = free_port()
        try:
            started = actorium_cli("start", "--head", "--port", str(port), "--num-cpus", "1",
                                   "--no-dashboard")
            print(started.splitlines()[0])
            for _ in range(options.nodes):   # the token is found in the cluster directory
                joined = actorium_cli("start", "--address", f"127.0.0.1:{port}",
                                      "--num-cpus", "1")
                print(joined.strip())
            run(options.nodes, options.tasks)
        finally:
            print(actorium_cli("stop").strip())


if __name__ == "__main__":
    main()
