"""What the twin tables hold and how every database is asked, whatever it is.

Two tables beside ``virtual_state``:

* ``twin_index`` — one row per twin: its current document (``desired``, ``reported``,
  ``delta``, ``links``, ``version``) as JSON (sqlite's JSON functions, PostgreSQL's JSONB
  with a GIN index). Fleet queries read it and never call a twin.
* ``twin_changes`` — the journal: one row per change (``TwinChange``), in the order the
  store committed them (its ``cursor``), the last ``history`` changes of each twin kept
  (and one more, so that a fleet watch can tell whether the change before matched).
  Histories and watches read it.
* ``twin_watchers`` (sqlite) — the processes watching a type, to wake (``bells.py``).
* ``twin_bridges`` — each MQTT bridge's position in the journal: the last desired change
  it published, so that a restarted bridge goes on from there (nothing twice, nothing lost).

A twin's change is one transaction: the fenced write of its state in ``virtual_state`` (the
virtual actor's epoch and version, so an activation that lost its key can never write),
its index row and its journal row. Either all three are written or none.
"""

from __future__ import annotations

import abc
import json
from collections.abc import Callable
from typing import Any

from actorium._twins.change import Part, TwinChange
from actorium._twins.query import Condition, _Sql, compile_where, fields_of
from actorium._twins.stores.bells import Doorbells

CHANGE_COLUMNS = "seq, type_name, key, version, part, part_version, patch, doc, at"
_NAMES = tuple(CHANGE_COLUMNS.split(", "))


class TwinStore(abc.ABC):
    """The twin tables of one state store. Every method is a coroutine of the store's loop.

    ``bells``: what wakes the watches of this process when a change is committed."""

    bells: Doorbells

    @abc.abstractmethod
    async def commit(self, change: TwinChange, *, epoch: int, state_version: int,
                     data: bytes, history: int) -> tuple[int, str]:
        """Write the twin's state (fenced by ``epoch``/``state_version``), its index row
        and ``change``; keep its last ``history`` changes. Returns (new state version,
        the change's cursor). ``StaleActivationError`` if the activation lost its key."""

    @abc.abstractmethod
    async def history(self, type_name: str, key: str, since_version: int,
                      limit: int, *, keep: int) -> list[TwinChange]:
        """The twin's changes after ``since_version`` among its last ``keep``, oldest first
        (at most ``limit``)."""

    @abc.abstractmethod
    async def journal(self, type_name: str, *, after: str, key: str | None,
                      where: Condition | None, limit: int,
                      parts: tuple[Part, ...] | None = None) -> list[TwinChange]:
        """Changes after cursor ``after`` ("" = the start) of one twin or of those whose
        document matched ``where`` after the change or before it (``left``), in commit
        order (only changes of ``parts`` if given)."""

    async def settled(self, type_name: str) -> bool:
        """False while committed changes of the type are not readable yet (PostgreSQL: an
        older transaction still runs); a watch then reads again soon instead of waiting."""
        return True

    @abc.abstractmethod
    async def head(self) -> str:
        """The cursor of the newest change in the journal ("" if there is none)."""

    @abc.abstractmethod
    async def query(self, type_name: str, where: Condition | None, *, limit: int,
                    offset: int, order_by: str | None) -> list[tuple[str, dict[str, Any]]]:
        """(key, document) of the twins matching ``where``, by key (or ``order_by``)."""

    @abc.abstractmethod
    async def count(self, type_name: str, where: Condition | None) -> int:
        """How many twins match ``where``."""

    @abc.abstractmethod
    async def forget(self, type_name: str, key: str) -> None:
        """Drop the twin's index row and history (its state was cleared)."""

    @abc.abstractmethod
    async def position(self, client_id: str) -> str | None:
        """The cursor of the last desired change bridge ``client_id`` published (None if
        it never published one)."""

    @abc.abstractmethod
    async def set_position(self, client_id: str, type_name: str, cursor: str) -> None:
        """Remember that bridge ``client_id`` published the desired changes up to ``cursor``."""

    @abc.abstractmethod
    async def seed(self, type_name: str, documents: list[tuple[str, dict[str, Any]]]) -> None:
        """Insert index rows in bulk (benchmarks and imports; no state, no history)."""


def parts_sql(parts: tuple[Part, ...] | None, param: Any) -> str:
    """`` AND c.part IN (...)`` for ``parts`` (nothing for None); ``param`` adds a value."""
    if parts is None:
        return ""
    return " AND c.part IN (" + ", ".join(param(Part(p).value) for p in parts) + ")"


def index_document(change: TwinChange) -> str:
    return json.dumps(change.document, separators=(",", ":"))


def change_columns(table: str = "") -> str:
    return ", ".join(f"{table}{name}" for name in _NAMES)


def change_from_row(row: Any, cursor: str, *, left: bool = False) -> TwinChange:
    """A ``TwinChange`` from a ``CHANGE_COLUMNS`` row (JSON columns as text or decoded)."""
    patch, doc = row[6], row[7]
    return TwinChange(type_name=row[1], key=row[2], version=int(row[3]), part=Part(row[4]),
                      part_version=int(row[5]),
                      patch=json.loads(patch) if isinstance(patch, str) else patch,
                      document=json.loads(doc) if isinstance(doc, str) else doc,
                      at=float(row[8]), cursor=cursor, left=left)


def journal_sql(out: _Sql, type_name: str, after: Callable[[_Sql], str], *,
                key: str | None, where: Condition | None, parts: tuple[Part, ...] | None,
                limit: int, order: tuple[tuple[str, str], ...],
                extra: tuple[tuple[str, str], ...] = ()) -> str:
    """The journal read of both databases: changes after a cursor (``after`` writes that
    test) of one twin or of those that match ``where`` after the change *or matched it
    before* (the change that makes a twin leave the query is one a fleet watch must see).
    Rows: the change columns, ``extra``'s, then ``now_in``, ``was_in``. ``order``: the
    (expression, name) pairs to order by."""
    hidden = [f"{expr} AS {name}" for expr, name in order if name not in _NAMES]
    columns = [f"c.{name}" for name in _NAMES] + [f"{expr} AS {name}" for expr, name in extra]
    if where is None:
        now, before, join = "TRUE", "FALSE", ""
    else:
        now = f"COALESCE({compile_where(where, out, 'c.doc')}, FALSE)"
        before = f"(p.doc IS NOT NULL AND COALESCE({compile_where(where, out, 'p.doc')}, FALSE))"
        join = (" LEFT JOIN twin_changes p ON p.type_name = c.type_name AND p.key = c.key "
                "AND p.version = c.version - 1")
    tests = f"c.type_name = {out.param(type_name)} AND {after(out)}"
    if key is not None:
        tests += f" AND c.key = {out.param(key)}"
    tests += parts_sql(parts, out.param)
    inner = (f"SELECT {', '.join(columns + hidden)}, {now} AS now_in, {before} AS was_in "
             f"FROM twin_changes c{join} WHERE {tests}")
    shown = [f"s.{name}" for name in _NAMES] + [f"s.{name}" for _expr, name in extra]
    return (f"SELECT {', '.join(shown)}, s.now_in, s.was_in FROM ({inner}) s WHERE s.now_in "
            f"OR s.was_in ORDER BY {', '.join(f's.{name}' for _expr, name in order)} "
            f"LIMIT {out.param(limit)}")


def left_of(row: Any) -> bool:
    """Whether a ``journal_sql`` row is a twin leaving the query."""
    return bool(row[-1]) and not bool(row[-2])


def query_sql(dialect: str, type_name: str, where: Condition | None, *, limit: int,
              offset: int, order_by: str | None
              ) -> tuple[str, list[Any], set[tuple[str, ...]]]:
    """A fleet query of either database: (SQL, parameters, the fields it reads)."""
    out = _Sql(dialect)
    sql = f"SELECT key, doc FROM twin_index WHERE type_name = {out.param(type_name)} AND " \
          f"{compile_where(where, out, 'doc')} ORDER BY "
    path = check_order(order_by)
    if path is not None:
        direction = "DESC" if order_by and order_by.startswith("-") else "ASC"
        sql += f"{out.extract('doc', path)} {direction}, "
    sql += f"key LIMIT {out.param(limit)} OFFSET {out.param(offset)}"
    return sql, out.params, fields_of(where) | ({path} if path is not None else set())


def count_sql(dialect: str, type_name: str, where: Condition | None
              ) -> tuple[str, list[Any], set[tuple[str, ...]]]:
    """A fleet count of either database: (SQL, parameters, the fields it reads)."""
    out = _Sql(dialect)
    sql = f"SELECT COUNT(*) FROM twin_index WHERE type_name = {out.param(type_name)} AND " \
          f"{compile_where(where, out, 'doc')}"
    return sql, out.params, fields_of(where)


def check_order(order_by: str | None) -> tuple[str, ...] | None:
    """``order_by`` is a field path (``"reported.temp"``; ``-`` in front: descending)."""
    if order_by is None:
        return None
    from actorium._twins.query import Field
    return Field(order_by.removeprefix("-")).path
