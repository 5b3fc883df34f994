"""The sqlite connection shared by the state store and the edge outbox stays off the loop."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time

import pytest

from actorium._virtual.stores.sqlite_thread import SqliteThread


def test_work_runs_in_order_on_one_thread_while_the_loop_goes_on(tmp_path):
    opened_on = []

    def open_connection() -> sqlite3.Connection:
        opened_on.append(threading.current_thread().name)
        db = sqlite3.connect(tmp_path / "t.sqlite3", isolation_level=None,
                             check_same_thread=False)
        db.execute("CREATE TABLE t (n INTEGER)")
        return db

    async def scenario() -> tuple[list[int], int, list[str]]:
        sqlite = SqliteThread(open_connection, "test-sqlite")
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        def slow_insert(n: int):
            def work(db: sqlite3.Connection) -> str:
                time.sleep(0.05)          # a disk or a lock that makes us wait
                db.execute("INSERT INTO t VALUES (?)", (n,))
                return threading.current_thread().name
            return work

        running = asyncio.ensure_future(ticker())
        names = await asyncio.gather(*(sqlite.run(slow_insert(n)) for n in range(6)))
        rows = await sqlite.run(lambda db: [r[0] for r in db.execute("SELECT n FROM t")])
        await sqlite.close()
        running.cancel()
        with pytest.raises(RuntimeError):     # closed: no more work is taken
            await sqlite.run(lambda db: None)
        return rows, ticks, [*names, *opened_on]

    rows, ticks, threads = asyncio.run(scenario())
    assert rows == list(range(6))                      # in the order submitted
    assert ticks >= 10                                 # the loop ran while sqlite waited
    assert len(set(threads)) == 1 and threads[0].startswith("test-sqlite")
