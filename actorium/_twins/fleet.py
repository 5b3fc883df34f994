"""Fleet queries from anywhere: a driver, an actor, an asyncio application.

``query(Thermostat, Field("reported.temp") > 30)`` reads the twin index in the state store
(the store of ``ACTORIUM_STATE_STORE``, the one the runtime's workers use): no twin is
called or activated. The ``_async`` forms never block the caller's loop and use the store
the process shares (``shared_store``: the workers' own, or one per loop while in use); the
blocking forms run one on a thread of their own (a connection setup each call for
PostgreSQL: prefer the ``_async`` forms in a loop that queries often).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple, TypeVar

from actorium._core.values import check_not_in_loop
from actorium._twins.query import Condition, _condition
from actorium._twins.stores import TwinStore, shared_store, twin_store

T = TypeVar("T")


class TwinRecord(NamedTuple):
    """One twin found by a query: its key and its document (as ``Twin.document()``)."""

    key: str
    document: dict[str, Any]


def type_name_of(twin_type: Any) -> str:
    """The type name of a twin class (``@twin``-declared) or a type name string."""
    name = twin_type if isinstance(twin_type, str) else getattr(twin_type, "type_name", None)
    if not isinstance(name, str) or not name:
        raise TypeError(f"expected a twin type (a @twins.twin class) or its type name, got "
                        f"{twin_type!r}")
    return name


def _check(where: Condition | None, limit: int, offset: int) -> None:
    if where is not None:
        _condition(where)
    for name, value, low in (("limit", limit, 1), ("offset", offset, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name} must be an int >= {low}, got {value!r}")


async def with_store(work: Callable[[TwinStore], Awaitable[T]], url: str | None = None) -> T:
    """Run ``work`` against the twin tables of the process's shared store."""
    async with shared_store(url) as store:
        return await work(twin_store(store))


def _blocking(what: str, coroutine: Callable[[], Awaitable[T]]) -> T:
    check_not_in_loop(what)
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="actorium-twins") as pool:
        return pool.submit(asyncio.run, coroutine()).result()   # type: ignore[arg-type]


async def query_async(twin_type: Any, where: Condition | None = None, *, limit: int = 1000,
                      offset: int = 0, order_by: str | None = None) -> list[TwinRecord]:
    """The twins of ``twin_type`` matching ``where`` (all if None), by key, or by the field
    ``order_by`` (``"-reported.temp"``: descending). Pages with ``limit``/``offset``."""
    name = type_name_of(twin_type)
    _check(where, limit, offset)

    async def work(store: TwinStore) -> list[TwinRecord]:
        rows = await store.query(name, where, limit=limit, offset=offset, order_by=order_by)
        return [TwinRecord(key, doc) for key, doc in rows]
    return await with_store(work)


async def count_async(twin_type: Any, where: Condition | None = None) -> int:
    """How many twins of ``twin_type`` match ``where``."""
    name = type_name_of(twin_type)
    _check(where, 1, 0)

    async def work(store: TwinStore) -> int:
        return await store.count(name, where)
    return await with_store(work)


async def head_cursor() -> str:
    """The cursor of the newest change in the store's journal ("" when there is none)."""
    async def work(store: TwinStore) -> str:
        return await store.head()
    return await with_store(work)


def query(twin_type: Any, where: Condition | None = None, *, limit: int = 1000,
          offset: int = 0, order_by: str | None = None) -> list[TwinRecord]:
    """Blocking ``query_async`` (for drivers; in a running loop use ``query_async``)."""
    return _blocking("twins.query()", lambda: query_async(
        twin_type, where, limit=limit, offset=offset, order_by=order_by))


def count(twin_type: Any, where: Condition | None = None) -> int:
    """Blocking ``count_async``."""
    return _blocking("twins.count()", lambda: count_async(twin_type, where))
