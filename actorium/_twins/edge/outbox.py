"""The edge agent's durable local queue: reports waiting for the cluster, desired states.

One sqlite file (WAL, ``synchronous=FULL``: a report accepted is on disk before the device
hears so, and survives a power cut). Tables:

* ``outbox``  — reports not yet acknowledged by the broker, in the order they came (``id``);
* ``seqs``    — the last sequence number given to each device's reports;
* ``desired`` — the latest desired state received for each device;
* ``counters``— totals kept across restarts (sent, expired).

A report's ``seq`` is ``max(last + 1, now in microseconds)``: it grows with every report of
a device, also across a new queue file (a replaced disk), so a twin never takes a new
report for a resend of an old one. Every operation runs on one thread of its own; callers
await it and the event loop never blocks on the disk.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar

from actorium._virtual.stores.sqlite_thread import SqliteThread
from actorium.exceptions import QueueFullError

T = TypeVar("T")

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, "
    "key TEXT NOT NULL, seq INTEGER NOT NULL, patch TEXT NOT NULL, at REAL NOT NULL)",
    "CREATE TABLE IF NOT EXISTS seqs (key TEXT PRIMARY KEY, seq INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS desired (key TEXT PRIMARY KEY, doc TEXT NOT NULL, "
    "version INTEGER NOT NULL, at REAL NOT NULL)",
    "CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
)


class Pending(NamedTuple):
    id: int
    key: str
    seq: int
    patch: dict[str, Any]
    at: float


class Outbox:
    """The queue file at ``path`` (made if missing). ``close()`` when done."""

    def __init__(self, path: str, *, max_queued: int = 1_000_000) -> None:
        if isinstance(max_queued, bool) or not isinstance(max_queued, int) or max_queued < 1:
            raise ValueError(f"max_queued must be an int >= 1, got {max_queued!r}")
        self.path = os.path.abspath(path)
        self.max_queued = max_queued
        self._sqlite = SqliteThread(self._open, "actorium-edge-outbox")

    def _open(self) -> sqlite3.Connection:
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        for statement in _SCHEMA:
            db.execute(statement)
        return db

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        return await self._sqlite.run(work)

    async def put(self, key: str, patch: dict[str, Any]) -> tuple[int, int]:
        """Store one report durably; returns (its seq, reports now queued)."""
        text = json.dumps(patch, separators=(",", ":"), allow_nan=False)
        now = time.time()

        def work(db: sqlite3.Connection) -> tuple[int, int]:
            db.execute("BEGIN IMMEDIATE")
            try:
                queued = db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
                if queued >= self.max_queued:
                    raise QueueFullError(f"the edge queue {self.path} holds {queued} reports "
                                         f"(max_queued): the cluster has been unreachable "
                                         f"too long")
                row = db.execute("SELECT seq FROM seqs WHERE key = ?", (key,)).fetchone()
                seq = max((row[0] + 1) if row else 0, int(now * 1_000_000))
                db.execute("INSERT INTO seqs VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET "
                           "seq = excluded.seq", (key, seq))
                db.execute("INSERT INTO outbox (key, seq, patch, at) VALUES (?, ?, ?, ?)",
                           (key, seq, text, now))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            return seq, queued + 1
        return await self._run(work)

    async def oldest(self, limit: int) -> list[Pending]:
        def work(db: sqlite3.Connection) -> list[Pending]:
            return [Pending(row[0], row[1], row[2], json.loads(row[3]), row[4])
                    for row in db.execute("SELECT id, key, seq, patch, at FROM outbox "
                                          "ORDER BY id LIMIT ?", (limit,))]
        return await self._run(work)

    async def sent(self, ids: list[int]) -> None:
        """The broker acknowledged these reports: drop them, count them."""
        if not ids:
            return

        def work(db: sqlite3.Connection) -> None:
            db.execute("BEGIN IMMEDIATE")
            db.executemany("DELETE FROM outbox WHERE id = ?", [(i,) for i in ids])
            _add(db, "sent", len(ids))
            db.execute("COMMIT")
        await self._run(work)

    async def expire(self, ttl: float | None) -> int:
        """Drop the reports older than ``ttl`` seconds (they would arrive too late)."""
        if ttl is None:
            return 0
        cutoff = time.time() - ttl

        def work(db: sqlite3.Connection) -> int:
            db.execute("BEGIN IMMEDIATE")
            gone = db.execute("DELETE FROM outbox WHERE at < ?", (cutoff,)).rowcount
            if gone:
                _add(db, "expired", gone)
            db.execute("COMMIT")
            return int(gone)
        return await self._run(work)

    async def set_desired(self, key: str, document: dict[str, Any], version: int) -> bool:
        """Keep the desired state of ``key`` if newer than the one held; True if kept."""
        def work(db: sqlite3.Connection) -> bool:
            changed = db.execute(
                "INSERT INTO desired VALUES (?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET "
                "doc = excluded.doc, version = excluded.version, at = excluded.at "
                "WHERE excluded.version > desired.version",
                (key, json.dumps(document), version, time.time())).rowcount
            return bool(changed)
        return await self._run(work)

    async def desired(self, key: str) -> dict[str, Any] | None:
        def work(db: sqlite3.Connection) -> dict[str, Any] | None:
            row = db.execute("SELECT doc FROM desired WHERE key = ?", (key,)).fetchone()
            return None if row is None else dict(json.loads(row[0]))
        return await self._run(work)

    async def status(self) -> dict[str, Any]:
        def work(db: sqlite3.Connection) -> dict[str, Any]:
            queued, oldest = db.execute("SELECT COUNT(*), MIN(at) FROM outbox").fetchone()
            counters = dict(db.execute("SELECT name, value FROM counters").fetchall())
            return {"queued": int(queued),
                    "oldest_age": 0.0 if oldest is None else round(time.time() - oldest, 3),
                    "sent": int(counters.get("sent", 0)),
                    "expired": int(counters.get("expired", 0))}
        return await self._run(work)

    async def close(self) -> None:
        await self._sqlite.close()


def _add(db: sqlite3.Connection, name: str, amount: int) -> None:
    db.execute("INSERT INTO counters VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET "
               "value = value + excluded.value", (name, amount))
