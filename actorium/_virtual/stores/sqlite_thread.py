"""One sqlite connection that lives on a thread of its own.

sqlite calls block (on the disk, or on another process's lock for up to ``busy_timeout``), so
a coroutine must never make them on the event loop's thread. Both sqlite users of the runtime
(the virtual actors' state store and the edge agent's outbox) keep their connection here: it
is opened on first use on that one thread, every operation runs there in order, and closing
never waits for the thread on the event loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class SqliteThread:
    """``open_connection()`` is called on the thread the first time a connection is needed."""

    def __init__(self, open_connection: Callable[[], sqlite3.Connection], name: str) -> None:
        self._open = open_connection
        self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix=name)
        self._db: sqlite3.Connection | None = None

    def connection(self) -> sqlite3.Connection:
        """The connection (opened now if needed). Call it on the thread, or from code that
        is allowed to block (a bulk import outside any event loop)."""
        if self._db is None:
            self._db = self._open()
        return self._db

    def submit(self, function: Callable[..., T], *args: Any) -> concurrent.futures.Future[T]:
        """Run ``function(*args)`` on the thread, after what was submitted before."""
        return self._executor.submit(function, *args)

    async def run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """``work(connection)`` on the thread; the caller's loop goes on meanwhile."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: work(self.connection()))

    async def close(self) -> None:
        """Close the connection after the operations already submitted; the thread ends on
        its own (shutdown without waiting: the loop must not block on it)."""
        def shut() -> None:
            if self._db is not None:
                self._db.close()
                self._db = None
        await asyncio.get_running_loop().run_in_executor(self._executor, shut)
        self._executor.shutdown(wait=False)
