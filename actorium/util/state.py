"""The state API: what the runtime is doing, as lists of records (Ray's ``ray.util.state``).

Each function asks the node once and returns plain records that read both as dicts
(``row["state"]``) and as attributes (``row.state``). ``filters`` take Ray's form, a list of
``(key, "=" | "!=", value)``; values compare as strings, so ``("pid", "=", 1234)`` works.
The same data backs the dashboard's JSON API and ``actorium list``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from actorium._core import context
from actorium._core.values import check_not_in_loop

__all__ = ["StateRecord", "get_actor", "list_actors", "list_app_metrics", "list_events",
           "list_logs", "list_nodes", "list_objects", "list_reminders", "list_tasks",
           "list_virtual_actors", "list_workers", "metrics_text", "summarize_virtual_actors",
           "summary"]

Filter = tuple[str, str, Any]


class StateRecord(dict[str, Any]):
    """One row: a dict whose keys are also attributes."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"state record has no field {name!r}; it has "
                                 f"{', '.join(sorted(self))}") from None


def _rows(kind: str, filters: Sequence[Filter] | None, limit: int,
          query: dict[str, Any] | None = None) -> list[StateRecord]:
    check_not_in_loop(f"actorium.util.state.list_{kind}()")
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"limit must be a positive int, got {limit!r}")
    checks = _parse_filters(filters)
    runtime = context.current_runtime()
    rows = runtime.request("state", kind, query or {}, limit if not checks else 1_000_000)
    records = [StateRecord(row) for row in rows]
    if checks:
        records = [row for row in records if all(check(row) for check in checks)]
    return records[:limit]


def _parse_filters(filters: Sequence[Filter] | None) -> list[Any]:
    checks = []
    for item in filters or ():
        if not (isinstance(item, (tuple, list)) and len(item) == 3):
            raise ValueError(f"a filter is (key, '=' or '!=', value), got {item!r}")
        key, predicate, value = item
        if predicate not in ("=", "!="):
            raise ValueError(f"filter predicate must be '=' or '!=', got {predicate!r}")
        wanted = str(value)
        if predicate == "=":
            checks.append(lambda row, k=key, w=wanted: str(row.get(k)) == w)
        else:
            checks.append(lambda row, k=key, w=wanted: str(row.get(k)) != w)
    return checks


def list_actors(filters: Sequence[Filter] | None = None, limit: int = 1000) -> list[StateRecord]:
    """Actors with their state, class, name, worker pid, restarts and pending calls."""
    return _rows("actors", filters, limit)


def get_actor(actor_id: str) -> StateRecord | None:
    """One actor by its hex id, or None."""
    rows = _rows("actors", None, 1, {"actor_id": actor_id})
    return rows[0] if rows else None


def list_nodes(filters: Sequence[Filter] | None = None, limit: int = 1000) -> list[StateRecord]:
    """Nodes with their resources (total and available), CPU and memory."""
    return _rows("nodes", filters, limit)


def list_tasks(filters: Sequence[Filter] | None = None, limit: int = 1000) -> list[StateRecord]:
    """Tasks queued and running now, and recent failures with their errors."""
    return _rows("tasks", filters, limit)


def list_workers(filters: Sequence[Filter] | None = None,
                 limit: int = 1000) -> list[StateRecord]:
    """Worker processes: kind, state, pid, hosted actors, memory."""
    return _rows("workers", filters, limit)


def list_objects(filters: Sequence[Filter] | None = None,
                 limit: int = 1000) -> list[StateRecord]:
    """Objects held by the node's processes: size, state, owner, reference counts."""
    return _rows("objects", filters, limit)


def list_events(filters: Sequence[Filter] | None = None, limit: int = 1000) -> list[StateRecord]:
    """The timeline: actors created, restarted and dead; workers that died."""
    return _rows("events", filters, limit)


def list_logs(*, actor_id: str | None = None, pid: int | None = None,
              limit: int = 1000) -> list[StateRecord]:
    """Recent lines printed by workers, optionally of one actor or one worker process."""
    query: dict[str, Any] = {}
    if actor_id is not None:
        query["actor_id"] = actor_id
    if pid is not None:
        query["pid"] = pid
    return _rows("logs", None, limit, query)


def list_app_metrics(name: str | None = None, *, filters: Sequence[Filter] | None = None,
                     limit: int = 1000) -> list[StateRecord]:
    """The values of ``util.metrics`` recorded on the cluster's nodes: one record per metric
    and tag set (``name``, ``kind``, ``tags``, ``value``; histograms add ``count``, ``sum``,
    ``buckets`` and ``boundaries``), marked with the ``node_id`` that holds it. Values arrive
    about a second after they are recorded."""
    return _rows("app_metrics", filters, limit, {"name": name} if name else None)


def summary() -> StateRecord:
    """The dashboard's overview: nodes, actors by state, task counts, objects."""
    check_not_in_loop("actorium.util.state.summary()")
    return StateRecord(context.current_runtime().request("summary"))


def list_virtual_actors(filters: Sequence[Filter] | None = None,
                        limit: int = 1000) -> list[StateRecord]:
    """Virtual actor types of the cluster: ``type_name``, ``active`` activations, ``saved``
    keys in the state store, ``passivated`` (saved but not active), ``per_node`` counts."""
    check_not_in_loop("actorium.util.state.list_virtual_actors()")
    rows = summarize_virtual_actors()["types"]
    checks = _parse_filters(filters)
    return [StateRecord(r) for r in rows if all(check(r) for check in checks)][:limit]


def summarize_virtual_actors() -> StateRecord:
    """Virtual actors at a glance: ``types`` (as ``list_virtual_actors``), ``per_node``
    (activations on each node), ``activations_total``, ``passivations_total``, ``store``."""
    check_not_in_loop("actorium.util.state.summarize_virtual_actors()")
    return StateRecord(context.current_runtime().request("virtual_summary"))


def list_reminders(type_name: str | None = None, key: str | None = None,
                   limit: int = 1000) -> list[StateRecord]:
    """Durable reminders in the state store (``type_name``, ``key``, ``name``, ``due`` as unix
    seconds, ``period`` or None), soonest first; of one type and/or key if given."""
    check_not_in_loop("actorium.util.state.list_reminders()")
    rows = context.current_runtime().request("virtual_reminders", type_name, key, limit)
    return [StateRecord(row) for row in rows]


def metrics_text() -> str:
    """The node's metrics in Prometheus text format (what ``/metrics`` serves)."""
    check_not_in_loop("actorium.util.state.metrics_text()")
    text: str = context.current_runtime().request("metrics")
    return text
