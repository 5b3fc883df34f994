"""Where twins keep their index and history: tables beside the virtual actors' state.

``twin_store(store)`` gives the twin tables of a virtual actor state store (sqlite or
PostgreSQL); a twin's change is written with its state in one transaction.
``shared_store()`` is the store the readers of a process (queries, watches, bridges) share:
in a worker, the one its activations use; elsewhere one per loop, open while in use.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator

from actorium._twins.stores.base import TwinStore
from actorium._twins.stores.postgres import PostgresTwinStore
from actorium._twins.stores.sqlite import SqliteTwinStore
from actorium._virtual import stores as _virtual_stores
from actorium._virtual.stores import StateStore, _make, default_url
from actorium._virtual.stores.postgres import PostgresStateStore
from actorium._virtual.stores.sqlite import SqliteStateStore

__all__ = ["TwinStore", "shared_store", "twin_store"]

_stores: weakref.WeakKeyDictionary[StateStore, TwinStore] = weakref.WeakKeyDictionary()


def twin_store(store: StateStore) -> TwinStore:
    """The twin tables of ``store`` (one object per state store, made on first use)."""
    found = _stores.get(store)
    if found is None:
        if isinstance(store, SqliteStateStore):
            found = SqliteTwinStore(store)
        elif isinstance(store, PostgresStateStore):
            found = PostgresTwinStore(store)
        else:
            raise TypeError(f"twins need a sqlite or PostgreSQL state store, not {store!r}")
        _stores[store] = found
    return found


class _Lease:
    def __init__(self, store: StateStore) -> None:
        self.store = store
        self.users = 0


_leases: dict[tuple[str, int], _Lease] = {}


@contextlib.asynccontextmanager
async def shared_store(url: str | None = None) -> AsyncIterator[StateStore]:
    """The state store at ``url`` (default: ``ACTORIUM_STATE_STORE``'s) for the running loop,
    shared by every query, watch and bridge of the process: one sqlite connection (or one
    PostgreSQL pool) however many twins are watched. In a worker that hosts virtual actors
    it is the store of its activations; elsewhere it is opened by the first user and closed
    when the last one leaves (nothing stays open once the application's work is done)."""
    url = url or default_url()
    key = (url, id(asyncio.get_running_loop()))
    hosting = _virtual_stores._open.get(key)
    if hosting is not None:   # the runtime's own store in this process: it closes it
        yield hosting
        return
    lease = _leases.get(key)
    if lease is None:
        lease = _leases[key] = _Lease(_make(url))
    lease.users += 1
    try:
        yield lease.store
    finally:
        lease.users -= 1
        if lease.users == 0:
            if _leases.get(key) is lease:
                del _leases[key]
            await lease.store.close()
