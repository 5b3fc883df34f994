"""Doorbells: a committed twin change wakes the watchers of its type, in any process.

A watch does not poll the journal: it reads it, then waits on a ``Bell`` until a change of
its type may have been committed, and reads again. Every store of a process has one
``Doorbells``: one channel to the other processes, shared by all the watches of the process,
open while at least one watch is.

* sqlite: each process with watchers binds a Unix datagram socket in Linux's abstract
  namespace (no file to leak; it vanishes with the process) and lists its address in
  ``twin_watchers``. A process that commits a change reads the addresses of the type's
  watchers in the same transaction and, once the transaction is committed, sends each one
  datagram (the type name). A send to a process that died unregisters it.
* PostgreSQL: ``LISTEN actorium_twins`` on one connection; a change does
  ``pg_notify('actorium_twins', type_name)`` in its transaction, delivered at commit.

A bell rung for nothing costs one read of the journal; a bell never rung when it should
would lose a wake-up, so the order is: clear the bell, read, wait (a commit after the read
rings the bell that is already cleared).
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import itertools
import os
import secrets
import socket
import sqlite3
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any

from actorium._virtual.stores.postgres import _safe
from actorium._virtual.stores.sqlite import SqliteStateStore
from actorium.exceptions import StateStoreError

_moments = itertools.count(1)


def moment() -> int:
    """A number that grows with every call in the process: what rang before what was read."""
    return next(_moments)


class Bell:
    """One watcher's wake-up for one type (``wait``/``clear``).

    ``heard``: the moment of the last ring it took (``clear()``), or of its making: a read
    of the journal started after that moment sees every change this watcher was rung for,
    so watchers woken by the same ring can share one read."""

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self._rung = self.heard = moment()

    def ring(self, at: int | None = None) -> None:
        self._rung = at if at is not None else moment()
        self._event.set()

    def clear(self) -> None:
        self._event.clear()
        self.heard = self._rung

    async def wait(self, seconds: float | None = None) -> bool:
        """Until rung (True) or ``seconds`` passed (False)."""
        if seconds is None:
            await self._event.wait()
            return True
        try:
            async with asyncio.timeout(seconds):
                await self._event.wait()
        except TimeoutError:
            return False
        return True


class Doorbells(abc.ABC):
    """The bells of one store in this process, by type name, over one shared channel."""

    def __init__(self) -> None:
        self._bells: dict[str, set[Bell]] = {}
        self._users = 0
        self._lock = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def bell(self, type_name: str) -> AsyncIterator[Bell]:
        """A bell rung by every change of ``type_name`` committed after this returned."""
        made = Bell()
        async with self._lock:
            if self._users == 0:
                await self._open()
            self._users += 1
            try:
                if type_name not in self._bells:
                    await self._listen(type_name)
            except BaseException:
                self._users -= 1
                if self._users == 0:
                    await self._close()
                raise
            self._bells.setdefault(type_name, set()).add(made)
            made._rung = made.heard = moment()   # listened to from now on
        try:
            yield made
        finally:
            async with self._lock:
                bells = self._bells.get(type_name, set())
                bells.discard(made)
                if not bells:
                    self._bells.pop(type_name, None)
                    with contextlib.suppress(Exception):
                        await self._unlisten(type_name)
                self._users -= 1
                if self._users == 0:
                    await self._close()

    @property
    def poll(self) -> float | None:
        """Seconds between reads where there is no channel (None: changes are pushed)."""
        return None

    async def ensure(self) -> None:
        """Before waiting: reopen the channel if it broke (the rings it lost were given as
        one ring to every watcher when it broke)."""
        return None

    def ring(self, type_name: str | None) -> None:
        """Wake the watchers of ``type_name`` (None: every watcher)."""
        if type_name is None:
            found = [bell for bells in self._bells.values() for bell in bells]
        else:
            found = list(self._bells.get(type_name, ()))
        at = moment()
        for bell in found:
            bell.ring(at)

    @abc.abstractmethod
    async def _open(self) -> None:
        """Open the channel (the first watcher came)."""

    @abc.abstractmethod
    async def _close(self) -> None:
        """Close it (the last watcher left)."""

    async def _listen(self, type_name: str) -> None:
        """The first watcher of ``type_name`` in this process came."""
        return None

    async def _unlisten(self, type_name: str) -> None:
        """The last one left."""
        return None


# ---------------------------------------------------------------------- sqlite
WATCHERS_SCHEMA = ("CREATE TABLE IF NOT EXISTS twin_watchers (address TEXT NOT NULL, "
                   "type_name TEXT NOT NULL, PRIMARY KEY (type_name, address))")
WATCHERS_OF = "SELECT address FROM twin_watchers WHERE type_name = ?"
_LINUX = sys.platform.startswith("linux")


def _socket_address(address: str) -> bytes:
    return b"\0" + address.encode()   # Linux's abstract namespace: no file


class SqliteBells(Doorbells):
    """Bells over a datagram socket of this process, listed in ``twin_watchers``.

    Where there is no abstract namespace (not Linux), watchers read the journal every
    ``FALLBACK_POLL`` seconds instead."""

    FALLBACK_POLL = 0.2

    def __init__(self, store: SqliteStateStore, tables: Callable[[sqlite3.Connection], None]
                 ) -> None:
        super().__init__()
        self.store = store
        self._tables = tables
        self.address = ""
        self._socket: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def poll(self) -> float | None:
        return None if _LINUX else self.FALLBACK_POLL

    async def _open(self) -> None:
        if not _LINUX:
            return
        made = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            made.setblocking(False)
            self.address = f"actorium-twins-{os.getpid()}-{secrets.token_hex(8)}"
            made.bind(_socket_address(self.address))
            self._loop = asyncio.get_running_loop()
            self._loop.add_reader(made.fileno(), self._readable)
        except BaseException:
            made.close()
            raise
        self._socket = made

    def _readable(self) -> None:
        while self._socket is not None:
            try:
                data = self._socket.recv(1024)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            self.ring(data.decode(errors="replace"))

    async def _listen(self, type_name: str) -> None:
        if self._socket is not None:
            await self._rows("registering a twin watcher", "INSERT OR IGNORE INTO "
                             "twin_watchers VALUES (?, ?)", (self.address, type_name))

    async def _unlisten(self, type_name: str) -> None:
        if self._socket is not None:
            await self._rows("unregistering a twin watcher", "DELETE FROM twin_watchers "
                             "WHERE address = ? AND type_name = ?", (self.address, type_name))

    async def _close(self) -> None:
        made, self._socket = self._socket, None
        if made is None:
            return
        if self._loop is not None:
            self._loop.remove_reader(made.fileno())
        made.close()
        with contextlib.suppress(Exception):
            await self._rows("unregistering twin watchers", "DELETE FROM twin_watchers WHERE "
                             "address = ?", (self.address,))

    async def _rows(self, what: str, sql: str, args: tuple[str, ...]) -> None:
        def work(db: sqlite3.Connection) -> None:
            self._tables(db)
            db.execute(sql, args)
        await self.store._run(what, work)


class SqliteAnnouncer:
    """The sending side: after a commit, one datagram to each watcher of the type. The
    changes committed in one turn of the loop send one datagram per watcher and type."""

    def __init__(self, store: SqliteStateStore) -> None:
        self.store = store
        self._pending: dict[str, set[str]] = {}
        self._scheduled = False
        self._cleanups: set[asyncio.Task[None]] = set()

    def committed(self, type_name: str, addresses: list[str]) -> None:
        """Call on the loop once the change is committed (``addresses``: read with it)."""
        if not addresses:
            return
        for address in addresses:
            self._pending.setdefault(address, set()).add(type_name)
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._send)

    def _send(self) -> None:
        self._scheduled = False
        pending, self._pending = self._pending, {}
        gone: list[str] = []
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sender:
            sender.setblocking(False)   # never wait: a full queue already has wake-ups
            for address, names in pending.items():
                for name in names:
                    try:
                        sender.sendto(name.encode(), _socket_address(address))
                    except (ConnectionRefusedError, FileNotFoundError):
                        gone.append(address)   # its process is gone
                        break
                    except OSError:   # full (BlockingIOError) or passing: it will wake anyway
                        break
        if gone:
            task = asyncio.get_running_loop().create_task(self._forget(gone))
            self._cleanups.add(task)
            task.add_done_callback(self._cleanups.discard)

    async def _forget(self, addresses: list[str]) -> None:
        def work(db: sqlite3.Connection) -> None:
            db.executemany("DELETE FROM twin_watchers WHERE address = ?",
                           [(address,) for address in addresses])
        with contextlib.suppress(Exception):
            await self.store._run("forgetting twin watchers that are gone", work)


# ---------------------------------------------------------------------- PostgreSQL
CHANNEL = "actorium_twins"


class PostgresBells(Doorbells):
    """Bells over one ``LISTEN`` connection; a change notifies in its transaction."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url
        self._connection: Any = None

    async def _open(self) -> None:
        import asyncpg
        try:
            self._connection = await asyncpg.connect(self.url, timeout=10.0)
            await self._connection.add_listener(CHANNEL, self._notified)
        except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
            await self._close()
            raise StateStoreError(f"state store {_safe(self.url)}: cannot listen for twin "
                                  f"changes: {exc}") from exc
        self._connection.add_termination_listener(self._lost)

    def _notified(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        self.ring(payload)

    def _lost(self, _connection: Any) -> None:
        self.ring(None)   # every watcher reads once more, and the next wait listens again

    async def ensure(self) -> None:
        async with self._lock:
            if self._users and (self._connection is None or self._connection.is_closed()):
                await self._close()
                await self._open()

    async def _close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None and not connection.is_closed():
            with contextlib.suppress(Exception):
                await connection.close(timeout=5)
