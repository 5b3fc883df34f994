"""Watching twins: ``async for change in twins.watch(...)`` over one twin or a fleet query.

A watch reads the store's journal of changes (``twin_changes``) from a cursor, so it works
the same in a driver, an actor or any asyncio application, in any process, and a subscriber
that arrives late starts where it wants: ``since_version`` (one twin: the changes after that
version still in its history) or ``since`` (a change's ``cursor``: the fleet's changes
after it). By default a watch starts with the changes made after it began. It polls the
journal every ``poll`` seconds while idle (one indexed read) and holds the store open until
the iteration ends (``break``, or cancelling the task).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncGenerator, Iterable
from typing import Any

from actorium._twins.change import Part, TwinChange
from actorium._twins.fleet import type_name_of
from actorium._twins.query import Condition, _condition
from actorium._twins.stores import twin_store
from actorium._virtual.stores import _make, default_url

_BATCH = 500


async def watch(twin_type: Any, key: str | None = None, *, where: Condition | None = None,
                since: str | None = None, since_version: int | None = None,
                parts: Iterable[Part | str] | None = None,
                poll: float = 0.1) -> AsyncGenerator[TwinChange, None]:
    """Yield the changes of twin ``key`` of ``twin_type`` (or, without ``key``, of every
    twin of the type whose document after the change matches ``where``), in commit order,
    forever: stop with ``break``.

    Never blocks the loop (the store's own thread, or asyncpg). A change is delivered at
    least once to a subscriber that resumes from the cursor of the last change it handled.
    """
    name = type_name_of(twin_type)
    wanted = _parts(parts)
    if key is not None and (not isinstance(key, str) or not key):
        raise ValueError(f"watch(): key is a twin key, got {key!r}")
    if where is not None:
        _condition(where)
    if since_version is not None and (key is None or isinstance(since_version, bool)
                                      or not isinstance(since_version, int)):
        raise ValueError("watch(): since_version (an int) is for one twin: pass its key too")
    if since is not None and not isinstance(since, str):
        raise TypeError(f"watch(): since is a change's cursor (a str), got {since!r}")
    if isinstance(poll, bool) or not isinstance(poll, (int, float)) or \
            not math.isfinite(poll) or poll <= 0:
        raise ValueError(f"watch(): poll must be a positive number of seconds, got {poll!r}")
    store = _make(default_url())
    tables = twin_store(store)
    try:
        if since_version is not None:
            assert key is not None
            backlog = await tables.history(name, key, since_version, 1_000_000)
            for change in backlog:
                if wanted is None or change.part in wanted:
                    yield change
            cursor = backlog[-1].cursor if backlog else await tables.head()
        else:
            cursor = since if since is not None else await tables.head()
        while True:
            changes = await tables.journal(name, after=cursor, key=key, where=where,
                                           limit=_BATCH, parts=wanted)
            for change in changes:
                cursor = change.cursor
                yield change
            if len(changes) < _BATCH:
                await asyncio.sleep(poll)
    finally:
        await store.close()


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
