"""State stores of virtual actors: the interface and its sqlite and PostgreSQL implementations.

Which store a runtime uses is a URL, the same in every process of the runtime or cluster:
``ACTORIUM_STATE_STORE`` in the environment (``actorium start --state-store URL`` sets it for
the daemons it starts; an embedded runtime's node and workers inherit the driver's), else the file
``~/.local/share/actorium/state.sqlite3``. ``open_store`` keeps one store per URL and loop.
"""

from __future__ import annotations

import asyncio
import os

from actorium._virtual.stores.base import Claimed, Reminder, StateStore
from actorium._virtual.stores.postgres import PostgresStateStore
from actorium._virtual.stores.sqlite import SqliteStateStore

__all__ = ["Claimed", "Reminder", "StateStore", "STORE_ENV", "check_url", "default_url",
           "open_store"]

STORE_ENV = "ACTORIUM_STATE_STORE"

_open: dict[tuple[str, int], StateStore] = {}


def default_url() -> str:
    """The store this process uses: ``$ACTORIUM_STATE_STORE``, or the default sqlite file."""
    url = os.environ.get(STORE_ENV)
    if url:
        return url
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local",
                                                           "share")
    return "sqlite:///" + os.path.join(base, "actorium", "state.sqlite3")


def check_url(url: str) -> str:
    """Validate a store URL; returns it. ValueError naming what is wrong otherwise."""
    if not isinstance(url, str):
        raise TypeError(f"a state store is a URL string, got {url!r}")
    if url.startswith("sqlite:///"):
        if not url.removeprefix("sqlite:///").strip("/"):
            raise ValueError(f"state store {url!r}: sqlite:/// needs a file path")
        return url
    if url.startswith(("postgresql://", "postgres://")):
        return url
    raise ValueError(f"state store {url!r} is not supported: use sqlite:////absolute/path.db "
                     f"or postgresql://user@host:port/database")


def _make(url: str) -> StateStore:
    check_url(url)
    if url.startswith("sqlite:///"):
        # sqlite:////abs/path.db is absolute; sqlite:///rel.db is relative to this directory.
        return SqliteStateStore(url, os.path.abspath(url.removeprefix("sqlite:///")))
    return PostgresStateStore(url)


def open_store(url: str | None = None) -> StateStore:
    """The store at ``url`` (default: ``default_url()``) for the running loop, opened lazily."""
    url = url or default_url()
    key = (url, id(asyncio.get_running_loop()))
    store = _open.get(key)
    if store is None:
        store = _open[key] = _make(url)
    return store


async def close_stores() -> None:
    """Close every store opened on the running loop (at process exit)."""
    loop_id = id(asyncio.get_running_loop())
    for key in [k for k in _open if k[1] == loop_id]:
        await _open.pop(key).close()
