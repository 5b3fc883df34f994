"""The cluster state store: PostgreSQL through asyncpg (``pip install 'actorium[postgres]'``).

Each process opens a small pool (up to 4 connections) on first use. The tables are created
on first connection under an advisory lock, so that many processes starting at once do not
race on ``CREATE TABLE``. The fence is the same conditional UPDATE as in sqlite; PostgreSQL's
row locks make a claim and a save of the same key wait for each other.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from actorium._virtual.stores.base import Claimed, Reminder, StateStore, stale
from actorium.exceptions import StateStoreError

_SCHEMA_LOCK = 0x61637469   # pg_advisory_xact_lock key: "acti"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS virtual_state (
    type_name TEXT NOT NULL, key TEXT NOT NULL, epoch BIGINT NOT NULL, version BIGINT NOT NULL,
    fmt TEXT NOT NULL DEFAULT 'pickle', data BYTEA, updated DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (type_name, key));
CREATE TABLE IF NOT EXISTS virtual_reminders (
    type_name TEXT NOT NULL, key TEXT NOT NULL, name TEXT NOT NULL,
    due DOUBLE PRECISION NOT NULL, period DOUBLE PRECISION,
    PRIMARY KEY (type_name, key, name));
CREATE INDEX IF NOT EXISTS virtual_reminders_due ON virtual_reminders (due);
CREATE TABLE IF NOT EXISTS virtual_code (
    code_id BYTEA PRIMARY KEY, type_name TEXT NOT NULL, code BYTEA NOT NULL,
    registered DOUBLE PRECISION NOT NULL);
CREATE INDEX IF NOT EXISTS virtual_code_type ON virtual_code (type_name, registered);
"""


class PostgresStateStore(StateStore):
    """``postgresql://user[:password]@host[:port]/database`` (asyncpg's DSN)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._pool: Any = None
        self._opening: asyncio.Lock | None = None

    async def _connected(self) -> Any:
        if self._pool is not None:
            return self._pool
        if self._opening is None:
            self._opening = asyncio.Lock()
        async with self._opening:
            if self._pool is None:
                try:
                    import asyncpg
                except ImportError:
                    raise StateStoreError(
                        f"state store {_safe(self.url)} needs asyncpg: pip install "
                        f"'actorium[postgres]'") from None
                try:
                    pool = await asyncpg.create_pool(self.url, min_size=1, max_size=4,
                                                     timeout=10.0)
                    async with pool.acquire() as connection, connection.transaction():
                        await connection.execute(f"SELECT pg_advisory_xact_lock({_SCHEMA_LOCK})")
                        await connection.execute(_SCHEMA)
                except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
                    raise StateStoreError(f"state store {_safe(self.url)}: cannot connect: "
                                          f"{exc}") from exc
                self._pool = pool
        return self._pool

    async def _fetch(self, what: str, method: str, query: str, *args: Any) -> Any:
        pool = await self._connected()
        import asyncpg
        try:
            return await getattr(pool, method)(query, *args)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise StateStoreError(f"state store {_safe(self.url)}: {what} failed: "
                                  f"{exc}") from exc

    # ------------------------------------------------------------------ state
    async def claim(self, type_name: str, key: str) -> Claimed:
        row = await self._fetch(
            f"claiming {type_name}({key!r})", "fetchrow",
            "INSERT INTO virtual_state (type_name, key, epoch, version, data, updated) "
            "VALUES ($1, $2, 1, 0, NULL, $3) ON CONFLICT (type_name, key) DO UPDATE SET "
            "epoch = virtual_state.epoch + 1 RETURNING data, fmt, version, epoch",
            type_name, key, time.time())
        return Claimed(row[0], row[1], row[2], row[3])

    async def save(self, type_name: str, key: str, *, epoch: int, version: int, data: bytes,
                   fmt: str) -> int:
        row = await self._fetch(
            f"saving {type_name}({key!r})", "fetchrow",
            "UPDATE virtual_state SET data = $1, fmt = $2, version = version + 1, updated = $3 "
            "WHERE type_name = $4 AND key = $5 AND epoch = $6 AND version = $7 "
            "RETURNING version", data, fmt, time.time(), type_name, key, epoch, version)
        if row is not None:
            return int(row[0])
        now = await self._fetch(f"reading {type_name}({key!r})", "fetchrow",
                                "SELECT epoch, version FROM virtual_state WHERE type_name = $1 "
                                "AND key = $2", type_name, key)
        if now is None:
            why = "the key has no row (was the store reset?)"
        elif now[0] != epoch:
            why = f"activation {now[0]} claimed the key since"
        else:
            why = f"the state is at version {now[1]}, not {version}"
        raise stale(type_name, key, epoch, why)

    async def clear(self, type_name: str, key: str, *, epoch: int) -> None:
        status = await self._fetch(
            f"clearing {type_name}({key!r})", "execute",
            "UPDATE virtual_state SET data = NULL, version = version + 1, updated = $1 "
            "WHERE type_name = $2 AND key = $3 AND epoch = $4", time.time(), type_name, key,
            epoch)
        if status.endswith(" 0"):
            raise stale(type_name, key, epoch, "a newer activation claimed the key")

    async def read(self, type_name: str, key: str) -> Claimed | None:
        row = await self._fetch(f"reading {type_name}({key!r})", "fetchrow",
                                "SELECT data, fmt, version, epoch FROM virtual_state WHERE "
                                "type_name = $1 AND key = $2", type_name, key)
        return None if row is None else Claimed(row[0], row[1], row[2], row[3])

    async def counts(self) -> dict[str, int]:
        rows = await self._fetch("counting keys", "fetch",
                                 "SELECT type_name, COUNT(*) FROM virtual_state WHERE data IS "
                                 "NOT NULL GROUP BY type_name")
        return {row[0]: int(row[1]) for row in rows}

    # ------------------------------------------------------------------ reminders
    async def set_reminder(self, reminder: Reminder) -> None:
        await self._fetch(
            f"setting reminder {reminder.name!r}", "execute",
            "INSERT INTO virtual_reminders VALUES ($1, $2, $3, $4, $5) ON CONFLICT "
            "(type_name, key, name) DO UPDATE SET due = excluded.due, period = excluded.period",
            reminder.type_name, reminder.key, reminder.name, reminder.due, reminder.period)

    async def cancel_reminder(self, type_name: str, key: str, name: str) -> bool:
        status = await self._fetch(f"cancelling reminder {name!r}", "execute",
                                   "DELETE FROM virtual_reminders WHERE type_name = $1 AND "
                                   "key = $2 AND name = $3", type_name, key, name)
        return not str(status).endswith(" 0")

    async def reminders(self, type_name: str | None = None, key: str | None = None,
                        limit: int = 10_000) -> list[Reminder]:
        rows = await self._fetch(
            "listing reminders", "fetch",
            "SELECT type_name, key, name, due, period FROM virtual_reminders WHERE "
            "($1::text IS NULL OR type_name = $1) AND ($2::text IS NULL OR key = $2) "
            "ORDER BY due LIMIT $3", type_name, key, limit)
        return [Reminder(*row) for row in rows]

    async def due_reminders(self, now: float, limit: int) -> list[Reminder]:
        rows = await self._fetch("reading due reminders", "fetch",
                                 "SELECT type_name, key, name, due, period FROM "
                                 "virtual_reminders WHERE due <= $1 ORDER BY due LIMIT $2",
                                 now, limit)
        return [Reminder(*row) for row in rows]

    async def next_due(self) -> float | None:
        value = await self._fetch("reading the next reminder", "fetchval",
                                  "SELECT MIN(due) FROM virtual_reminders")
        return None if value is None else float(value)

    async def reminder_fired(self, fired: Reminder, next_due: float | None) -> None:
        where = ("WHERE type_name = $1 AND key = $2 AND name = $3 AND due = $4 AND "
                 "period IS NOT DISTINCT FROM $5")
        args = (fired.type_name, fired.key, fired.name, fired.due, fired.period)
        if next_due is None:
            await self._fetch(f"deleting reminder {fired.name!r}", "execute",
                              f"DELETE FROM virtual_reminders {where}", *args)
        else:
            await self._fetch(f"moving reminder {fired.name!r} on", "execute",
                              f"UPDATE virtual_reminders SET due = $6 {where}", *args, next_due)

    # ------------------------------------------------------------------ code
    async def register_code(self, type_name: str, code_id: bytes, code: bytes) -> None:
        await self._fetch(f"registering the class of {type_name}", "execute",
                          "INSERT INTO virtual_code VALUES ($1, $2, $3, $4) ON CONFLICT "
                          "(code_id) DO UPDATE SET registered = excluded.registered",
                          code_id, type_name, code, time.time())

    async def code(self, code_id: bytes) -> bytes | None:
        value = await self._fetch("reading a class", "fetchval",
                                  "SELECT code FROM virtual_code WHERE code_id = $1", code_id)
        return None if value is None else bytes(value)

    async def current_code(self, type_name: str) -> bytes | None:
        value = await self._fetch(f"finding the class of {type_name}", "fetchval",
                                  "SELECT code_id FROM virtual_code WHERE type_name = $1 "
                                  "ORDER BY registered DESC LIMIT 1", type_name)
        return None if value is None else bytes(value)

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not at or ":" not in credentials:
        return url
    return f"{scheme}{sep}{credentials.split(':', 1)[0]}:***@{host}"
