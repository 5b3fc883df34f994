"""Watching twins: ``async for change in twins.watch(...)`` over one twin or a fleet query.

A watch reads the store's journal of changes (``twin_changes``) from a cursor, so it works
the same in a driver, an actor or any asyncio application, in any process, and a subscriber
that arrives late starts where it wants: ``since_version`` (one twin: the changes after that
version still in its history, read page by page, with ``where`` and ``parts`` applied as to
live changes) or ``since`` (a change's ``cursor``: the
fleet's changes after it). By default a watch starts with the changes made after it began.

It does not poll: once it has read everything, it waits for its bell (``stores/bells.py``),
rung by the process that commits the next change of the type. Every watch of a process
shares one store connection and one bell channel (``shared_store``), held until the last
iteration ends (``break`` inside ``contextlib.aclosing``, or cancelling the task).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Iterable
from typing import Any

from actorium._twins.change import Part, TwinChange
from actorium._twins.fleet import type_name_of
from actorium._twins.query import Condition, _condition, _Sql, compile_where
from actorium._twins.stores import TwinStore, shared_store, twin_store
from actorium._twins.stores.bells import moment

_BATCH = 500
_HELD_BACK = (0.02, 1.0)   # first and last wait while PostgreSQL holds changes back (s)


async def watch(twin_type: Any, key: str | None = None, *, where: Condition | None = None,
                since: str | None = None, since_version: int | None = None,
                parts: Iterable[Part | str] | None = None
                ) -> AsyncGenerator[TwinChange, None]:
    """Yield the changes of twin ``key`` of ``twin_type`` (or, without ``key``, of every
    twin of the type whose document matches ``where`` after the change, and the change
    after which one stops matching, with ``left=True``), in commit order, forever: stop
    with ``break``.

    Never blocks the loop (the store's own thread, or asyncpg), and waits for the next
    change without reading the store meanwhile. A change is delivered at least once to a
    subscriber that resumes from the cursor of the last change it handled.
    """
    name = type_name_of(twin_type)
    wanted = _parts(parts)
    if key is not None and (not isinstance(key, str) or not key):
        raise ValueError(f"watch(): key is a twin key, got {key!r}")
    if where is not None:
        _condition(where)
    if since_version is not None and (key is None or isinstance(since_version, bool)
                                      or not isinstance(since_version, int)
                                      or since_version < 0):
        raise ValueError("watch(): since_version (an int >= 0) is for one twin: pass its key "
                         "too")
    if since is not None and not isinstance(since, str):
        raise TypeError(f"watch(): since is a change's cursor (a str), got {since!r}")
    if since is not None and since_version is not None:
        raise ValueError("watch(): give since (a cursor) or since_version, not both")
    async with shared_store() as store:
        tables = twin_store(store)
        async with tables.bells.bell(name) as bell:   # before reading: no change missed
            floor = None
            if since_version is not None:
                # This twin's journal from its change ``since_version`` on: read a page at a
                # time and filtered (``where``, ``parts``) like the live changes after it.
                assert key is not None
                found = await tables.history(name, key, since_version - 1, 1,
                                             keep=1_000_000_000) if since_version else []
                cursor = found[0].cursor if found and found[0].version == since_version else ""
                floor = since_version   # from the start of what is kept: skip up to it
            else:
                cursor = since if since is not None else await tables.head()
            held = _HELD_BACK[0]
            while True:
                await tables.bells.ensure()   # a lost channel listens again before the read
                bell.clear()
                changes = await _read(tables, name, cursor, key, where, wanted, bell.heard)
                for change in changes:
                    cursor = change.cursor
                    if floor is not None:
                        if change.version <= floor:
                            continue
                        floor = None
                    yield change
                if len(changes) == _BATCH:
                    continue
                if not await tables.settled(name):
                    await bell.wait(held)   # a change is committed but not readable yet
                    held = min(held * 2, _HELD_BACK[1])
                    continue
                held = _HELD_BACK[0]
                await bell.wait(tables.bells.poll)


# Journal reads in flight, shared by the watches asking the same thing: (the store, the
# type, the cursor, the key, the parts, the condition's SQL) -> (when it started, the read).
_reads: dict[tuple[Any, ...], tuple[int, asyncio.Task[list[TwinChange]]]] = {}


async def _read(tables: TwinStore, name: str, cursor: str, key: str | None,
                where: Condition | None, wanted: tuple[Part, ...] | None,
                heard: int) -> list[TwinChange]:
    """``tables.journal(...)``, or the same read another watch started after ``heard`` (the
    last ring this watch took): the watches of one twin woken by one change read once."""
    what = (id(tables), name, cursor, key, wanted, _identity(where))
    found = _reads.get(what)
    if found is None or found[0] <= heard:
        task = asyncio.ensure_future(tables.journal(name, after=cursor, key=key, where=where,
                                                    limit=_BATCH, parts=wanted))
        found = _reads[what] = (moment(), task)

        def done(finished: asyncio.Task[list[TwinChange]]) -> None:
            if _reads.get(what, (0, None))[1] is finished:
                del _reads[what]
            if not finished.cancelled():
                finished.exception()   # retrieved: a failure is raised to its waiters
        task.add_done_callback(done)
    # Shielded: one watch cancelled (closed) does not cancel the read of the others.
    return list(await asyncio.shield(found[1]))


def _identity(where: Condition | None) -> tuple[str, tuple[Any, ...]] | None:
    if where is None:
        return None
    out = _Sql("sqlite")
    return compile_where(where, out, "doc"), tuple(map(repr, out.params))


def _parts(parts: Iterable[Part | str] | None) -> tuple[Part, ...] | None:
    if parts is None:
        return None
    if isinstance(parts, (str, Part)):
        parts = (parts,)
    try:
        found = tuple(Part(part) for part in parts)
    except (TypeError, ValueError):
        raise ValueError(f"watch(): parts are twins.Part values ('reported', 'desired', "
                         f"'links'), got {parts!r}") from None
    if not found:
        raise ValueError("watch(): parts is empty: no change would ever be yielded")
    return found
