"""``actorium status`` and ``actorium list nodes|actors|tasks|objects``: the cluster as tables."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from actorium._cluster.connect import resolve
from actorium._core.ids import random_id
from actorium._core.runtime import Runtime
from actorium._node.session_dirs import new_session_dir, remove_session_dir
from actorium._observe.progress import progress_bar

_TIMEOUT = 10.0


def add_parsers(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    status = subparsers.add_parser("status", help="nodes, resources and actors of the cluster")
    status.add_argument("--address", default="auto")
    status.add_argument("--wait-for-nodes", type=int, default=None, metavar="N",
                        help="first wait (with a progress bar) until N nodes are alive")
    status.add_argument("--timeout", type=float, default=300.0, metavar="SECONDS",
                        help="how long --wait-for-nodes waits before failing (default 300)")
    listing = subparsers.add_parser("list", help="list nodes, actors, tasks or objects")
    listing.add_argument("what", choices=["nodes", "actors", "tasks", "objects"])
    listing.add_argument("--address", default="auto")
    listing.add_argument("--format", choices=["table", "json"], default="table")


def ask_head(address: str, *verbs: str | tuple[Any, ...]) -> list[Any]:
    """Answers of the head to ``verbs`` (a verb, or a tuple of a verb and its arguments);
    ConnectionError if it does not answer."""
    with head_client(address) as ask:
        return [ask(verb) for verb in verbs]


@contextmanager
def head_client(address: str) -> Iterator[Callable[[str | tuple[Any, ...]], Any]]:
    """A client of the head for several questions: yields ``ask(verb)`` (a verb, or a tuple
    of a verb and its arguments), which raises ConnectionError if the head does not answer."""
    head, token = resolve(address)
    session_dir = new_session_dir()
    host = head.removeprefix("tcp://").rpartition(":")[0]
    try:
        client = Runtime(role="client", worker_id=random_id(16), session_dir=session_dir,
                         node_address=head, token=token, bind_host=host.strip("[]"))
    except BaseException:
        remove_session_dir(session_dir)
        raise

    def ask(verb: str | tuple[Any, ...]) -> Any:
        name, *args = (verb,) if isinstance(verb, str) else verb
        try:
            return client.request(name, *args, timeout=_TIMEOUT, caller="cli")
        except Exception as exc:
            raise ConnectionError(f"the head at {head} did not answer: {exc}") from exc

    try:
        client.start_loop_thread()
        yield ask
    finally:
        client.close()
        remove_session_dir(session_dir)


def table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    cells = [[str(row.get(c, "")) for c in columns] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(lines)


def wait_for_nodes(address: str, count: int, timeout: float,
                   interval: float = 0.5) -> tuple[bool, int]:
    """Wait until ``count`` nodes are alive, showing a bar; (reached, alive at the end).

    A head that does not answer yet (still starting) is asked again until ``timeout``.
    """
    deadline = time.monotonic() + timeout
    alive = 0
    with progress_bar("waiting for nodes", total=count, unit=" nodes") as bar:
        while True:
            try:
                with head_client(address) as ask:
                    while True:
                        alive = sum(1 for node in ask("nodes") if node["Alive"])
                        bar.set(alive)
                        if alive >= count:
                            return True, alive
                        if time.monotonic() >= deadline:
                            return False, alive
                        time.sleep(interval)
            except ConnectionError:
                if time.monotonic() >= deadline:
                    return False, alive
                time.sleep(interval)


def run_status(options: argparse.Namespace) -> int:
    if options.wait_for_nodes is not None:
        if options.wait_for_nodes < 1 or options.timeout < 0:
            print("actorium status: --wait-for-nodes takes N >= 1 and --timeout seconds >= 0")
            return 2
        reached, count = wait_for_nodes(options.address, options.wait_for_nodes,
                                        options.timeout)
        if not reached:
            print(f"actorium status: {count} of {options.wait_for_nodes} nodes alive after "
                  f"{options.timeout:g} s")
            return 1
    try:
        nodes, total, free, actors = ask_head(options.address, "nodes", "cluster_resources",
                                              "available_resources", "list_actors")
    except ConnectionError as exc:
        print(f"actorium status: {exc}")
        return 1
    alive = [n for n in nodes if n["Alive"]]
    print(f"Nodes: {len(alive)} alive, {len(nodes) - len(alive)} dead")
    print(table(nodes, ["NodeID", "address", "Alive", "Resources"]))
    print("\nResources (used/total):")
    for name in sorted(total):
        if name == "memory":
            continue
        print(f"  {name}: {total[name] - free.get(name, 0.0):g}/{total[name]:g}")
    states: dict[str, int] = {}
    for actor in actors:
        states[actor["state"]] = states.get(actor["state"], 0) + 1
    print(f"\nActors: {len(actors)} " + " ".join(f"{k}={v}" for k, v in sorted(states.items())))
    return 0


_COLUMNS = {
    "nodes": ["NodeID", "address", "Alive", "Resources"],
    "actors": ["actor_id", "class_name", "state", "name", "namespace", "node_id", "restarts"],
    "tasks": ["task_id", "name", "state", "node_id", "pid", "error"],
    "objects": ["object_id", "size_bytes", "state", "node_id", "holder_role", "holder_pid",
                "local_refs", "borrowers"],
}
# Nodes and actors come from the head's own tables; tasks and objects live with the nodes
# and their owners, so the head gathers them from every node.
_QUESTIONS: dict[str, str | tuple[Any, ...]] = {
    "nodes": "nodes", "actors": "list_actors",
    "tasks": ("cluster_state", "tasks", {}, 10_000),
    "objects": ("cluster_state", "objects", {}, 10_000),
}


def run_list(options: argparse.Namespace) -> int:
    try:
        (rows,) = ask_head(options.address, _QUESTIONS[options.what])
    except ConnectionError as exc:
        print(f"actorium list: {exc}")
        return 1
    if options.format == "json":
        print(json.dumps(rows, indent=2, default=str))
    else:
        print(table(rows, _COLUMNS[options.what]))
    return 0
