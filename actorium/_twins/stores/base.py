"""What the twin tables hold and how every database is asked, whatever it is.

Two tables beside ``virtual_state``:

* ``twin_index`` — one row per twin: its current document (``desired``, ``reported``,
  ``delta``, ``links``, ``version``) as JSON (sqlite's JSON functions, PostgreSQL's JSONB
  with a GIN index). Fleet queries read it and never call a twin.
* ``twin_changes`` — the journal: one row per change (``TwinChange``), in the order the
  store committed them (its ``cursor``), the last ``history`` changes of each twin kept.
  Histories and watches read it.

A twin's change is one transaction: the fenced write of its state in ``virtual_state`` (the
virtual actor's epoch and version, so an activation that lost its key can never write),
its index row and its journal row. Either all three are written or none.
"""

from __future__ import annotations

import abc
import json
from typing import Any

from actorium._twins.change import Part, TwinChange
from actorium._twins.query import Condition

CHANGE_COLUMNS = "seq, type_name, key, version, part, part_version, patch, doc, at"


class TwinStore(abc.ABC):
    """The twin tables of one state store. Every method is a coroutine of the store's loop."""

    @abc.abstractmethod
    async def commit(self, change: TwinChange, *, epoch: int, state_version: int,
                     data: bytes, history: int) -> tuple[int, str]:
        """Write the twin's state (fenced by ``epoch``/``state_version``), its index row
        and ``change``; keep its last ``history`` changes. Returns (new state version,
        the change's cursor). ``StaleActivationError`` if the activation lost its key."""

    @abc.abstractmethod
    async def history(self, type_name: str, key: str, since_version: int,
                      limit: int) -> list[TwinChange]:
        """The twin's changes after ``since_version``, oldest first."""

    @abc.abstractmethod
    async def journal(self, type_name: str, *, after: str, key: str | None,
                      where: Condition | None, limit: int,
                      parts: tuple[Part, ...] | None = None) -> list[TwinChange]:
        """Changes after cursor ``after`` ("" = the start) of one twin or of those whose
        document after the change matched ``where``, in commit order (only changes of
        ``parts`` if given)."""

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
    async def seed(self, type_name: str, documents: list[tuple[str, dict[str, Any]]]) -> None:
        """Insert index rows in bulk (benchmarks and imports; no state, no history)."""


def parts_sql(parts: tuple[Part, ...] | None, param: Any) -> str:
    """`` AND c.part IN (...)`` for ``parts`` (nothing for None); ``param`` adds a value."""
    if parts is None:
        return ""
    return " AND c.part IN (" + ", ".join(param(Part(p).value) for p in parts) + ")"


def index_document(change: TwinChange) -> str:
    return json.dumps(change.document, separators=(",", ":"))


def change_from_row(row: Any, cursor: str) -> TwinChange:
    """A ``TwinChange`` from a ``CHANGE_COLUMNS`` row (JSON columns as text or decoded)."""
    patch, doc = row[6], row[7]
    return TwinChange(type_name=row[1], key=row[2], version=int(row[3]), part=Part(row[4]),
                      part_version=int(row[5]),
                      patch=json.loads(patch) if isinstance(patch, str) else patch,
                      document=json.loads(doc) if isinstance(doc, str) else doc,
                      at=float(row[8]), cursor=cursor)


def check_order(order_by: str | None) -> tuple[str, ...] | None:
    """``order_by`` is a field path (``"reported.temp"``; ``-`` in front: descending)."""
    if order_by is None:
        return None
    from actorium._twins.query import Field
    return Field(order_by.removeprefix("-")).path
