"""Where twins keep their index and history: tables beside the virtual actors' state.

``twin_store(store)`` gives the twin tables of a virtual actor state store (sqlite or
PostgreSQL); a twin's change is written with its state in one transaction.
"""

from __future__ import annotations

import weakref

from actorium._twins.stores.base import TwinStore
from actorium._twins.stores.postgres import PostgresTwinStore
from actorium._twins.stores.sqlite import SqliteTwinStore
from actorium._virtual.stores import StateStore
from actorium._virtual.stores.postgres import PostgresStateStore
from actorium._virtual.stores.sqlite import SqliteStateStore

__all__ = ["TwinStore", "twin_store"]

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
