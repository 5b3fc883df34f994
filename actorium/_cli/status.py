"""``actorium status`` and ``actorium list nodes|actors``: what the head knows, as tables."""

from __future__ import annotations

import argparse
import json
import shutil
from typing import Any

from actorium._cluster.connect import resolve
from actorium._core.ids import random_id
from actorium._core.runtime import Runtime
from actorium._node.launcher import new_session_dir

_TIMEOUT = 10.0


def add_parsers(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    status = subparsers.add_parser("status", help="nodes, resources and actors of the cluster")
    status.add_argument("--address", default="auto")
    listing = subparsers.add_parser("list", help="list nodes, actors, tasks or objects")
    listing.add_argument("what", choices=["nodes", "actors", "tasks", "objects"])
    listing.add_argument("--address", default="auto")
    listing.add_argument("--format", choices=["table", "json"], default="table")


def ask_head(address: str, *verbs: str) -> list[Any]:
    """Answers of the head to ``verbs`` (ConnectionError if it does not answer)."""
    head, token = resolve(address)
    session_dir = new_session_dir()
    host = head.removeprefix("tcp://").rpartition(":")[0]
    client = Runtime(role="client", worker_id=random_id(16), session_dir=session_dir,
                     node_address=head, token=token, bind_host=host.strip("[]"))
    try:
        client.start_loop_thread()
        return [client.request(verb, timeout=_TIMEOUT, caller="cli") for verb in verbs]
    except Exception as exc:
        raise ConnectionError(f"the head at {head} did not answer: {exc}") from exc
    finally:
        client.close()
        shutil.rmtree(session_dir, ignore_errors=True)


def table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    cells = [[str(row.get(c, "")) for c in columns] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(lines)


def run_status(options: argparse.Namespace) -> int:
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
}


def run_list(options: argparse.Namespace) -> int:
    if options.what not in _COLUMNS:
        # The head keeps no task or object table (they live with their owners).
        print(f"actorium list {options.what}: not tracked cluster-wide yet; "
              f"see the owning driver")
        return 2
    verb = "nodes" if options.what == "nodes" else "list_actors"
    try:
        (rows,) = ask_head(options.address, verb)
    except ConnectionError as exc:
        print(f"actorium list: {exc}")
        return 1
    if options.format == "json":
        print(json.dumps(rows, indent=2, default=str))
    else:
        print(table(rows, _COLUMNS[options.what]))
    return 0
