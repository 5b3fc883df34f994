"""The twin tables in the embedded sqlite store (the same file as the virtual actors' state).

Operations run on the state store's own thread (``SqliteStateStore._run``), so they share its
connection, its batching into one transaction and its error reporting. A twin's change is a
SAVEPOINT inside whatever transaction the batch runs: its three writes land together or not
at all. sqlite has one writer at a time, so the journal's ``seq`` grows in commit order and
is the cursor as it is.
"""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

from actorium._twins.change import Part, TwinChange
from actorium._twins.query import Condition, _Sql, index_sql
from actorium._twins.stores.base import (
    TwinStore,
    change_columns,
    change_from_row,
    count_sql,
    index_document,
    journal_sql,
    left_of,
    query_sql,
)
from actorium._twins.stores.bells import (
    WATCHERS_OF,
    WATCHERS_SCHEMA,
    Doorbells,
    SqliteAnnouncer,
    SqliteBells,
)
from actorium._virtual.stores.base import stale
from actorium._virtual.stores.sqlite import SqliteStateStore, _why

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS twin_index (type_name TEXT NOT NULL, key TEXT NOT NULL, "
    "version INTEGER NOT NULL, doc TEXT NOT NULL, updated REAL NOT NULL, "
    "PRIMARY KEY (type_name, key))",
    "CREATE TABLE IF NOT EXISTS twin_changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
    "type_name TEXT NOT NULL, key TEXT NOT NULL, version INTEGER NOT NULL, part TEXT NOT NULL, "
    "part_version INTEGER NOT NULL, patch TEXT NOT NULL, doc TEXT NOT NULL, at REAL NOT NULL)",
    "CREATE UNIQUE INDEX IF NOT EXISTS twin_changes_twin ON twin_changes "
    "(type_name, key, version)",
    "CREATE INDEX IF NOT EXISTS twin_changes_type ON twin_changes (type_name, seq)",
    WATCHERS_SCHEMA,
    "CREATE TABLE IF NOT EXISTS twin_bridges (client_id TEXT PRIMARY KEY, type_name TEXT NOT "
    "NULL, cursor TEXT NOT NULL, updated REAL NOT NULL)",
)


class SqliteTwinStore(TwinStore):
    def __init__(self, store: SqliteStateStore) -> None:
        self.store = store
        self._ready: int | None = None   # id of the connection the tables were made on
        self._indexed: set[tuple[str, ...]] = set()   # field indexes made (or found)
        self._announcer = SqliteAnnouncer(store)
        self.bells: Doorbells = SqliteBells(store, self._tables)

    def _tables(self, db: sqlite3.Connection) -> None:
        if self._ready != id(db):
            for statement in _SCHEMA:   # execute, not executescript: that would COMMIT
                db.execute(statement)
            self._ready = id(db)

    def _index(self, db: sqlite3.Connection, paths: set[tuple[str, ...]]) -> None:
        """An index on each queried field, made by the first query of the field (one scan
        of the table then; range lookups from then on)."""
        for path in paths - self._indexed:
            db.execute(index_sql("sqlite", path))
            self._indexed.add(path)

    async def commit(self, change: TwinChange, *, epoch: int, state_version: int,
                     data: bytes, history: int) -> tuple[int, str]:
        type_name, key = change.type_name, change.key

        def work(db: sqlite3.Connection
                 ) -> tuple[int, str, list[str]] | tuple[int, int] | None:
            self._tables(db)
            db.execute("SAVEPOINT twin_change")
            try:
                row = db.execute(
                    "UPDATE virtual_state SET data = ?, fmt = 'json', version = version + 1, "
                    "updated = ? WHERE type_name = ? AND key = ? AND epoch = ? AND version = ? "
                    "RETURNING version",
                    (data, change.at, type_name, key, epoch, state_version)).fetchone()
                if row is None:
                    now = db.execute("SELECT epoch, version FROM virtual_state WHERE "
                                     "type_name = ? AND key = ?", (type_name, key)).fetchone()
                    db.execute("RELEASE twin_change")
                    return None if now is None else (int(now[0]), int(now[1]))
                db.execute("INSERT INTO twin_index VALUES (?, ?, ?, ?, ?) ON CONFLICT "
                           "(type_name, key) DO UPDATE SET version = excluded.version, "
                           "doc = excluded.doc, updated = excluded.updated",
                           (type_name, key, change.version, index_document(change), change.at))
                seq = db.execute(
                    "INSERT INTO twin_changes (type_name, key, version, part, part_version, "
                    "patch, doc, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq",
                    (type_name, key, change.version, change.part.value, change.part_version,
                     json.dumps(change.patch), index_document(change), change.at)).fetchone()[0]
                # One more than ``history`` is kept: a fleet watch compares a change with
                # the one before it (did the twin leave the query?).
                db.execute("DELETE FROM twin_changes WHERE type_name = ? AND key = ? AND "
                           "version <= ?", (type_name, key, change.version - history - 1))
                watchers = [found[0] for found in db.execute(WATCHERS_OF, (type_name,))]
                db.execute("RELEASE twin_change")
                return int(row[0]), str(seq), watchers
            except BaseException:
                db.execute("ROLLBACK TO twin_change")
                db.execute("RELEASE twin_change")
                raise
        outcome = await self.store._run(f"saving twin {type_name}({key!r})", work)
        if outcome is not None and len(outcome) == 3:
            self._announcer.committed(type_name, outcome[2])   # committed by now
            return int(outcome[0]), str(outcome[1])
        raise stale(type_name, key, epoch, _why(outcome, epoch, state_version))

    async def history(self, type_name: str, key: str, since_version: int,
                      limit: int, *, keep: int) -> list[TwinChange]:
        def work(db: sqlite3.Connection) -> list[TwinChange]:
            self._tables(db)
            return [change_from_row(row, str(row[0])) for row in db.execute(
                f"SELECT {change_columns()} FROM twin_changes WHERE type_name = ? AND "
                f"key = ? AND version > MAX(?, (SELECT COALESCE(MAX(version), 0) FROM "
                f"twin_changes WHERE type_name = ? AND key = ?) - ?) ORDER BY version LIMIT ?",
                (type_name, key, since_version, type_name, key, keep, limit))]
        return await self.store._run(f"reading the history of {type_name}({key!r})", work)

    async def journal(self, type_name: str, *, after: str, key: str | None,
                      where: Condition | None, limit: int,
                      parts: tuple[Part, ...] | None = None) -> list[TwinChange]:
        out = _Sql("sqlite")
        seq = _seq(after)
        sql = journal_sql(out, type_name, lambda sql: f"c.seq > {sql.param(seq)}", key=key,
                          where=where, parts=parts, limit=limit, order=(("c.seq", "seq"),))

        def work(db: sqlite3.Connection) -> list[TwinChange]:
            self._tables(db)
            return [change_from_row(row, str(row[0]), left=left_of(row))
                    for row in db.execute(sql, out.params)]
        return await self.store._run(f"reading the changes of {type_name}", work)

    async def head(self) -> str:
        def work(db: sqlite3.Connection) -> str:
            self._tables(db)
            row = db.execute("SELECT MAX(seq) FROM twin_changes").fetchone()
            return "" if row[0] is None else str(row[0])
        return await self.store._run("reading the newest twin change", work)

    async def query(self, type_name: str, where: Condition | None, *, limit: int,
                    offset: int, order_by: str | None) -> list[tuple[str, dict[str, Any]]]:
        sql, params, fields = query_sql("sqlite", type_name, where, limit=limit,
                                        offset=offset, order_by=order_by)

        def work(db: sqlite3.Connection) -> list[tuple[str, dict[str, Any]]]:
            self._tables(db)
            self._index(db, fields)
            return [(row[0], json.loads(row[1])) for row in db.execute(sql, params)]
        return await self.store._run(f"querying twins of {type_name}", work)

    async def count(self, type_name: str, where: Condition | None) -> int:
        sql, params, fields = count_sql("sqlite", type_name, where)

        def work(db: sqlite3.Connection) -> int:
            self._tables(db)
            self._index(db, fields)
            return int(db.execute(sql, params).fetchone()[0])
        return await self.store._run(f"counting twins of {type_name}", work)

    async def forget(self, type_name: str, key: str) -> None:
        def work(db: sqlite3.Connection) -> None:
            self._tables(db)
            db.execute("DELETE FROM twin_index WHERE type_name = ? AND key = ?", (type_name, key))
            db.execute("DELETE FROM twin_changes WHERE type_name = ? AND key = ?",
                       (type_name, key))
        await self.store._run(f"forgetting twin {type_name}({key!r})", work)

    async def position(self, client_id: str) -> str | None:
        def work(db: sqlite3.Connection) -> str | None:
            self._tables(db)
            row = db.execute("SELECT cursor FROM twin_bridges WHERE client_id = ?",
                             (client_id,)).fetchone()
            return None if row is None else str(row[0])
        return await self.store._run(f"reading the position of bridge {client_id!r}", work)

    async def set_position(self, client_id: str, type_name: str, cursor: str) -> None:
        def work(db: sqlite3.Connection) -> None:
            self._tables(db)
            db.execute("INSERT INTO twin_bridges VALUES (?, ?, ?, ?) ON CONFLICT (client_id) "
                       "DO UPDATE SET type_name = excluded.type_name, cursor = excluded.cursor, "
                       "updated = excluded.updated", (client_id, type_name, cursor, time.time()))
        await self.store._run(f"saving the position of bridge {client_id!r}", work)

    async def seed(self, type_name: str, documents: list[tuple[str, dict[str, Any]]]) -> None:
        now = time.time()

        def work(db: sqlite3.Connection) -> None:
            self._tables(db)
            db.execute("SAVEPOINT twin_seed")   # one transaction, not one per row
            db.executemany("INSERT OR REPLACE INTO twin_index VALUES (?, ?, ?, ?, ?)",
                           [(type_name, key, int(doc.get("version", 0)), json.dumps(doc), now)
                            for key, doc in documents])
            db.execute("RELEASE twin_seed")
        await self.store._run(f"seeding twins of {type_name}", work)


def _seq(cursor: str) -> int:
    if cursor == "":
        return 0
    try:
        return int(cursor)
    except ValueError:
        raise ValueError(f"{cursor!r} is not a cursor of this sqlite store (a change's "
                         f".cursor)") from None
