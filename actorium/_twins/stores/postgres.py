"""The twin tables in PostgreSQL (the cluster store): JSONB documents under a GIN index.

A change is one transaction on one pooled connection. The journal's cursor is
``"<xid>:<seq>"``: PostgreSQL hands out ``seq`` at insert, not at commit, so a reader
ordering by ``seq`` alone could pass a row whose transaction commits later. Readers instead
take only rows of transactions older than every running one (``pg_snapshot_xmin``) and order
by (transaction id, seq): everything below that line is final, so a cursor never skips a
change. The price: a change shows up once the transactions that started before it ended (a
long idle transaction on the database delays watchers; it never loses changes).
"""

from __future__ import annotations

import json
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
from actorium._twins.stores.bells import CHANNEL, Doorbells, PostgresBells
from actorium._virtual.stores.base import stale
from actorium._virtual.stores.postgres import PostgresStateStore, _safe
from actorium.exceptions import StateStoreError

_SCHEMA_LOCK = 0x7477696E   # "twin"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS twin_index (
    type_name TEXT NOT NULL, key TEXT NOT NULL, version BIGINT NOT NULL, doc JSONB NOT NULL,
    updated DOUBLE PRECISION NOT NULL, PRIMARY KEY (type_name, key));
CREATE INDEX IF NOT EXISTS twin_index_doc ON twin_index USING GIN (doc jsonb_path_ops);
CREATE TABLE IF NOT EXISTS twin_changes (
    seq BIGSERIAL PRIMARY KEY, xid XID8 NOT NULL DEFAULT pg_current_xact_id(),
    type_name TEXT NOT NULL, key TEXT NOT NULL, version BIGINT NOT NULL, part TEXT NOT NULL,
    part_version BIGINT NOT NULL, patch JSONB NOT NULL, doc JSONB NOT NULL,
    at DOUBLE PRECISION NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS twin_changes_twin ON twin_changes (type_name, key, version);
CREATE INDEX IF NOT EXISTS twin_changes_type ON twin_changes (type_name, xid, seq);
CREATE TABLE IF NOT EXISTS twin_bridges (
    client_id TEXT PRIMARY KEY, type_name TEXT NOT NULL, cursor TEXT NOT NULL,
    updated DOUBLE PRECISION NOT NULL);
"""
_VISIBLE = "xid < pg_snapshot_xmin(pg_current_snapshot())"


class PostgresTwinStore(TwinStore):
    def __init__(self, store: PostgresStateStore) -> None:
        self.store = store
        self._ready = False
        self._indexed: set[tuple[str, ...]] = set()   # field indexes made (or found)
        self.bells: Doorbells = PostgresBells(store.url)

    async def _pool(self) -> Any:
        pool = await self.store._connected()
        if not self._ready:
            async with pool.acquire() as connection, connection.transaction():
                await connection.execute(f"SELECT pg_advisory_xact_lock({_SCHEMA_LOCK})")
                await connection.execute(_SCHEMA)
            self._ready = True
        return pool

    async def _fetch(self, what: str, method: str, query: str, *args: Any) -> Any:
        import asyncpg
        try:
            pool = await self._pool()
            return await getattr(pool, method)(query, *args)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise StateStoreError(f"state store {_safe(self.store.url)}: {what} failed: "
                                  f"{exc}") from exc

    async def commit(self, change: TwinChange, *, epoch: int, state_version: int,
                     data: bytes, history: int) -> tuple[int, str]:
        import asyncpg
        type_name, key = change.type_name, change.key
        document = index_document(change)
        try:
            pool = await self._pool()
            async with pool.acquire() as db, db.transaction():
                row = await db.fetchrow(
                    "UPDATE virtual_state SET data = $1, fmt = 'json', version = version + 1, "
                    "updated = $2 WHERE type_name = $3 AND key = $4 AND epoch = $5 AND "
                    "version = $6 RETURNING version", data, change.at, type_name, key, epoch,
                    state_version)
                if row is None:
                    now = await db.fetchrow("SELECT epoch, version FROM virtual_state WHERE "
                                            "type_name = $1 AND key = $2", type_name, key)
                else:
                    await db.execute(
                        "INSERT INTO twin_index VALUES ($1, $2, $3, $4::jsonb, $5) ON CONFLICT "
                        "(type_name, key) DO UPDATE SET version = excluded.version, "
                        "doc = excluded.doc, updated = excluded.updated",
                        type_name, key, change.version, document, change.at)
                    made = await db.fetchrow(
                        "INSERT INTO twin_changes (type_name, key, version, part, part_version, "
                        "patch, doc, at) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8) "
                        "RETURNING xid::text, seq", type_name, key, change.version,
                        change.part.value, change.part_version, json.dumps(change.patch),
                        document, change.at)
                    # One more than ``history``: a fleet watch compares with the one before.
                    await db.execute("DELETE FROM twin_changes WHERE type_name = $1 AND "
                                     "key = $2 AND version <= $3", type_name, key,
                                     change.version - history - 1)
                    await db.execute(f"SELECT pg_notify('{CHANNEL}', $1)", type_name)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise StateStoreError(f"state store {_safe(self.store.url)}: saving twin "
                                  f"{type_name}({key!r}) failed: {exc}") from exc
        if row is not None:
            return int(row[0]), f"{made[0]}:{made[1]}"
        if now is None:
            why = "the key has no row (was the store reset?)"
        elif now[0] != epoch:
            why = f"activation {now[0]} claimed the key since"
        else:
            why = f"the state is at version {now[1]}, not {state_version}"
        raise stale(type_name, key, epoch, why)

    async def history(self, type_name: str, key: str, since_version: int,
                      limit: int, *, keep: int) -> list[TwinChange]:
        rows = await self._fetch(
            f"reading the history of {type_name}({key!r})", "fetch",
            f"SELECT {change_columns()}, xid::text FROM twin_changes WHERE type_name = $1 AND "
            f"key = $2 AND version > GREATEST($3, (SELECT COALESCE(MAX(version), 0) FROM "
            f"twin_changes WHERE type_name = $1 AND key = $2) - $4) ORDER BY version LIMIT $5",
            type_name, key, since_version, keep, limit)
        return [change_from_row(row, f"{row[9]}:{row[0]}") for row in rows]

    async def journal(self, type_name: str, *, after: str, key: str | None,
                      where: Condition | None, limit: int,
                      parts: tuple[Part, ...] | None = None) -> list[TwinChange]:
        xid, seq = _cursor(after)
        out = _Sql("postgres")

        def later(sql: _Sql) -> str:
            return f"c.{_VISIBLE} AND (c.xid, c.seq) > ({sql.param(xid)}::text::xid8, " \
                   f"{sql.param(seq)})"
        sql = journal_sql(out, type_name, later, key=key, where=where, parts=parts,
                          limit=limit, order=(("c.xid", "o_xid"), ("c.seq", "seq")),
                          extra=(("c.xid::text", "xid_text"),))
        rows = await self._fetch(f"reading the changes of {type_name}", "fetch", sql,
                                 *out.params)
        return [change_from_row(row, f"{row[9]}:{row[0]}", left=left_of(row)) for row in rows]

    async def settled(self, type_name: str) -> bool:
        held = await self._fetch(f"reading the changes of {type_name}", "fetchval",
                                 f"SELECT EXISTS (SELECT 1 FROM twin_changes WHERE "
                                 f"type_name = $1 AND NOT ({_VISIBLE}))", type_name)
        return not held

    async def head(self) -> str:
        row = await self._fetch("reading the newest twin change", "fetchrow",
                                f"SELECT xid::text, seq FROM twin_changes WHERE {_VISIBLE} "
                                f"ORDER BY xid DESC, seq DESC LIMIT 1")
        return "" if row is None else f"{row[0]}:{row[1]}"

    async def query(self, type_name: str, where: Condition | None, *, limit: int,
                    offset: int, order_by: str | None) -> list[tuple[str, dict[str, Any]]]:
        sql, params, fields = query_sql("postgres", type_name, where, limit=limit,
                                        offset=offset, order_by=order_by)
        await self._index(fields)
        rows = await self._fetch(f"querying twins of {type_name}", "fetch", sql, *params)
        return [(row[0], json.loads(row[1])) for row in rows]

    async def count(self, type_name: str, where: Condition | None) -> int:
        sql, params, fields = count_sql("postgres", type_name, where)
        await self._index(fields)
        value = await self._fetch(f"counting twins of {type_name}", "fetchval", sql, *params)
        return int(value)

    async def _index(self, paths: set[tuple[str, ...]]) -> None:
        """A btree index on each queried field (ranges and orderings; the GIN index answers
        equality), made by the first query of the field in this process."""
        import asyncpg
        for path in paths - self._indexed:
            try:
                pool = await self._pool()
                async with pool.acquire() as db, db.transaction():
                    await db.execute(f"SELECT pg_advisory_xact_lock({_SCHEMA_LOCK})")
                    await db.execute(index_sql("postgres", path))
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                raise StateStoreError(f"state store {_safe(self.store.url)}: indexing the "
                                      f"twin field {'.'.join(path)} failed: {exc}") from exc
            self._indexed.add(path)

    async def forget(self, type_name: str, key: str) -> None:
        await self._fetch(f"forgetting twin {type_name}({key!r})", "execute",
                          "WITH gone AS (DELETE FROM twin_changes WHERE type_name = $1 AND "
                          "key = $2) DELETE FROM twin_index WHERE type_name = $1 AND key = $2",
                          type_name, key)

    async def position(self, client_id: str) -> str | None:
        found = await self._fetch(f"reading the position of bridge {client_id!r}", "fetchval",
                                  "SELECT cursor FROM twin_bridges WHERE client_id = $1",
                                  client_id)
        return None if found is None else str(found)

    async def set_position(self, client_id: str, type_name: str, cursor: str) -> None:
        await self._fetch(f"saving the position of bridge {client_id!r}", "execute",
                          "INSERT INTO twin_bridges VALUES ($1, $2, $3, $4) ON CONFLICT "
                          "(client_id) DO UPDATE SET type_name = excluded.type_name, "
                          "cursor = excluded.cursor, updated = excluded.updated",
                          client_id, type_name, cursor, time.time())

    async def seed(self, type_name: str, documents: list[tuple[str, dict[str, Any]]]) -> None:
        now = time.time()
        pool = await self._pool()
        async with pool.acquire() as db:
            await db.copy_records_to_table(
                "twin_index", records=[(type_name, key, int(doc.get("version", 0)),
                                        json.dumps(doc), now) for key, doc in documents])


def _cursor(cursor: str) -> tuple[str, int]:
    if cursor == "":
        return "0", 0
    xid, sep, seq = cursor.partition(":")
    if not sep or not xid.isdigit() or not seq.isdigit():
        raise ValueError(f"{cursor!r} is not a cursor of this PostgreSQL store (a change's "
                         f".cursor)")
    return xid, int(seq)
