"""The embedded state store: one sqlite file (the default; single machine, any processes).

Every process that opens the file (the node, the workers hosting activations) keeps its own
connection on a thread of its own, so the event loop never waits on the disk. The file is in
WAL mode with ``synchronous=NORMAL``: a write that returned survives the crash of any process
(not a power cut: use PostgreSQL for that). Concurrent writers from several processes wait for
each other (``busy_timeout``); the fence is one conditional UPDATE, atomic in sqlite.
"""

from __future__ import annotations

import asyncio
import collections
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from actorium._virtual.stores.base import Claimed, Reminder, StateStore, stale
from actorium._virtual.stores.sqlite_thread import SqliteThread
from actorium.exceptions import StateStoreError

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS virtual_state (
    type_name TEXT NOT NULL, key TEXT NOT NULL, epoch INTEGER NOT NULL, version INTEGER NOT NULL,
    fmt TEXT NOT NULL DEFAULT 'pickle', data BLOB, updated REAL NOT NULL,
    PRIMARY KEY (type_name, key));
CREATE TABLE IF NOT EXISTS virtual_reminders (
    type_name TEXT NOT NULL, key TEXT NOT NULL, name TEXT NOT NULL, due REAL NOT NULL,
    period REAL, PRIMARY KEY (type_name, key, name));
CREATE INDEX IF NOT EXISTS virtual_reminders_due ON virtual_reminders (due);
CREATE TABLE IF NOT EXISTS virtual_code (
    code_id BLOB PRIMARY KEY, type_name TEXT NOT NULL, code BLOB NOT NULL,
    registered REAL NOT NULL);
CREATE INDEX IF NOT EXISTS virtual_code_type ON virtual_code (type_name, registered);
"""


class SqliteStateStore(StateStore):
    """``sqlite:///absolute/path.sqlite3`` (the directory is created if missing)."""

    def __init__(self, url: str, path: str) -> None:
        self.url = url
        self.path = path
        self._sqlite = SqliteThread(self._open, "actorium-sqlite")
        # Operations waiting for the thread; the flag says whether a drain is running.
        self._queue: collections.deque[tuple[Callable[[sqlite3.Connection], Any],
                                             asyncio.Future[Any], str]] = collections.deque()
        self._lock = threading.Lock()
        self._draining = False

    def _open(self) -> sqlite3.Connection:
        directory = os.path.dirname(self.path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        db = sqlite3.connect(self.path, isolation_level=None, timeout=30.0,
                             check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(_SCHEMA)
        return db

    async def _run(self, what: str, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``work`` on the store's thread. Operations that queue up while the thread is
        busy run together in one transaction: a thousand activations at once cost a few
        commits, not a thousand."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._queue.append((work, future, what))   # deque.append: atomic, any thread
        with self._lock:
            start = not self._draining
            self._draining = True
        if start:
            self._sqlite.submit(self._drain, loop)
        result: T = await future
        return result

    def _drain(self, loop: asyncio.AbstractEventLoop) -> None:
        """The store's thread: run every queued operation, in batches of one transaction."""
        while True:
            batch = []
            while True:
                try:
                    batch.append(self._queue.popleft())
                except IndexError:
                    break
            if not batch:
                with self._lock:
                    if not self._queue:   # nothing came in since: the next _run restarts us
                        self._draining = False
                        return
                continue
            outcomes: list[tuple[asyncio.Future[Any], bool, Any]] = []
            try:
                db = self._sqlite.connection()
                if len(batch) > 1:
                    db.execute("BEGIN IMMEDIATE")
                for work, future, what in batch:
                    try:
                        outcomes.append((future, True, work(db)))
                    except sqlite3.Error as exc:
                        outcomes.append((future, False, StateStoreError(
                            f"state store {self.url}: {what} failed: {exc}")))
                if len(batch) > 1:
                    db.execute("COMMIT")
            except sqlite3.Error as exc:
                failure = StateStoreError(f"state store {self.url}: a batch of "
                                          f"{len(batch)} operations failed: {exc}")
                outcomes = [(future, False, failure) for _work, future, _what in batch]
                try:
                    self._sqlite.connection().execute("ROLLBACK")
                except sqlite3.Error:
                    pass
            loop.call_soon_threadsafe(_settle, outcomes)

    # ------------------------------------------------------------------ state
    async def claim(self, type_name: str, key: str) -> Claimed:
        def work(db: sqlite3.Connection) -> Claimed:
            row = db.execute(
                "INSERT INTO virtual_state (type_name, key, epoch, version, data, updated) "
                "VALUES (?, ?, 1, 0, NULL, ?) ON CONFLICT (type_name, key) DO UPDATE SET "
                "epoch = epoch + 1 RETURNING data, fmt, version, epoch",
                (type_name, key, time.time())).fetchone()
            return Claimed(row[0], row[1], row[2], row[3])
        return await self._run(f"claiming {type_name}({key!r})", work)

    async def save(self, type_name: str, key: str, *, epoch: int, version: int, data: bytes,
                   fmt: str) -> int:
        def work(db: sqlite3.Connection) -> int | tuple[int, int] | None:
            row = db.execute(
                "UPDATE virtual_state SET data = ?, fmt = ?, version = version + 1, updated = ? "
                "WHERE type_name = ? AND key = ? AND epoch = ? AND version = ? "
                "RETURNING version", (data, fmt, time.time(), type_name, key, epoch,
                                      version)).fetchone()
            if row is not None:
                return int(row[0])
            now = db.execute("SELECT epoch, version FROM virtual_state WHERE type_name = ? "
                             "AND key = ?", (type_name, key)).fetchone()
            return None if now is None else (int(now[0]), int(now[1]))
        outcome = await self._run(f"saving {type_name}({key!r})", work)
        if isinstance(outcome, int):
            return outcome
        raise stale(type_name, key, epoch, _why(outcome, epoch, version))

    async def clear(self, type_name: str, key: str, *, epoch: int) -> None:
        def work(db: sqlite3.Connection) -> int:
            return db.execute(
                "UPDATE virtual_state SET data = NULL, version = version + 1, updated = ? "
                "WHERE type_name = ? AND key = ? AND epoch = ?",
                (time.time(), type_name, key, epoch)).rowcount
        if not await self._run(f"clearing {type_name}({key!r})", work):
            raise stale(type_name, key, epoch, "a newer activation claimed the key")

    async def read(self, type_name: str, key: str) -> Claimed | None:
        def work(db: sqlite3.Connection) -> Claimed | None:
            row = db.execute("SELECT data, fmt, version, epoch FROM virtual_state WHERE "
                             "type_name = ? AND key = ?", (type_name, key)).fetchone()
            return None if row is None else Claimed(row[0], row[1], row[2], row[3])
        return await self._run(f"reading {type_name}({key!r})", work)

    async def counts(self) -> dict[str, int]:
        def work(db: sqlite3.Connection) -> dict[str, int]:
            return {row[0]: int(row[1]) for row in db.execute(
                "SELECT type_name, COUNT(*) FROM virtual_state WHERE data IS NOT NULL "
                "GROUP BY type_name")}
        return await self._run("counting keys", work)

    # ------------------------------------------------------------------ reminders
    async def set_reminder(self, reminder: Reminder) -> None:
        def work(db: sqlite3.Connection) -> None:
            db.execute("INSERT OR REPLACE INTO virtual_reminders VALUES (?, ?, ?, ?, ?)",
                       (reminder.type_name, reminder.key, reminder.name, reminder.due,
                        reminder.period))
        await self._run(f"setting reminder {reminder.name!r}", work)

    async def cancel_reminder(self, type_name: str, key: str, name: str) -> bool:
        def work(db: sqlite3.Connection) -> bool:
            return bool(db.execute("DELETE FROM virtual_reminders WHERE type_name = ? AND "
                                   "key = ? AND name = ?", (type_name, key, name)).rowcount)
        return await self._run(f"cancelling reminder {name!r}", work)

    async def reminders(self, type_name: str | None = None, key: str | None = None,
                        limit: int = 10_000) -> list[Reminder]:
        clauses, args = [], []
        if type_name is not None:
            clauses.append("type_name = ?")
            args.append(type_name)
        if key is not None:
            clauses.append("key = ?")
            args.append(key)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""

        def work(db: sqlite3.Connection) -> list[Reminder]:
            return [Reminder(*row) for row in db.execute(
                f"SELECT type_name, key, name, due, period FROM virtual_reminders {where} "
                f"ORDER BY due LIMIT ?", (*args, limit))]
        return await self._run("listing reminders", work)

    async def due_reminders(self, now: float, limit: int) -> list[Reminder]:
        def work(db: sqlite3.Connection) -> list[Reminder]:
            return [Reminder(*row) for row in db.execute(
                "SELECT type_name, key, name, due, period FROM virtual_reminders WHERE due <= ? "
                "ORDER BY due LIMIT ?", (now, limit))]
        return await self._run("reading due reminders", work)

    async def next_due(self) -> float | None:
        def work(db: sqlite3.Connection) -> float | None:
            row = db.execute("SELECT MIN(due) FROM virtual_reminders").fetchone()
            return None if row[0] is None else float(row[0])
        return await self._run("reading the next reminder", work)

    async def reminder_fired(self, fired: Reminder, next_due: float | None) -> None:
        where = ("WHERE type_name = ? AND key = ? AND name = ? AND due = ? AND "
                 "period IS ?")
        args = (fired.type_name, fired.key, fired.name, fired.due, fired.period)

        def work(db: sqlite3.Connection) -> None:
            if next_due is None:
                db.execute(f"DELETE FROM virtual_reminders {where}", args)
            else:
                db.execute(f"UPDATE virtual_reminders SET due = ? {where}", (next_due, *args))
        await self._run(f"moving reminder {fired.name!r} on", work)

    # ------------------------------------------------------------------ code
    async def register_code(self, type_name: str, code_id: bytes, code: bytes) -> None:
        def work(db: sqlite3.Connection) -> None:
            db.execute("INSERT INTO virtual_code VALUES (?, ?, ?, ?) ON CONFLICT (code_id) DO "
                       "UPDATE SET registered = excluded.registered",
                       (code_id, type_name, code, time.time()))
        await self._run(f"registering the class of {type_name}", work)

    async def code(self, code_id: bytes) -> bytes | None:
        def work(db: sqlite3.Connection) -> bytes | None:
            row = db.execute("SELECT code FROM virtual_code WHERE code_id = ?",
                             (code_id,)).fetchone()
            return None if row is None else bytes(row[0])
        return await self._run("reading a class", work)

    async def current_code(self, type_name: str) -> bytes | None:
        def work(db: sqlite3.Connection) -> bytes | None:
            row = db.execute("SELECT code_id FROM virtual_code WHERE type_name = ? ORDER BY "
                             "registered DESC LIMIT 1", (type_name,)).fetchone()
            return None if row is None else bytes(row[0])
        return await self._run(f"finding the class of {type_name}", work)

    async def close(self) -> None:
        await self._sqlite.close()

    def seed(self, type_name: str, rows: Any) -> None:
        """Insert ``(key, data)`` rows at once, blocking (benchmarks and bulk imports)."""
        db = self._sqlite.connection()
        now = time.time()
        db.execute("BEGIN")
        db.executemany("INSERT OR REPLACE INTO virtual_state VALUES (?, ?, 0, 1, 'pickle', ?, ?)",
                       ((type_name, key, data, now) for key, data in rows))
        db.execute("COMMIT")


def _settle(outcomes: list[tuple[asyncio.Future[Any], bool, Any]]) -> None:
    for future, ok, value in outcomes:
        if future.done():
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)


def _why(row: tuple[int, int] | None, epoch: int, version: int) -> str:
    if row is None:
        return "the key has no row (was the store reset?)"
    if row[0] != epoch:
        return f"activation {row[0]} claimed the key since"
    return f"the state is at version {row[1]}, not {version}"
