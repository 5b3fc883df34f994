"""Fixtures of the twin tests: the virtual actor tests' stores (sqlite, a real PostgreSQL)."""

from __future__ import annotations

from virtual.conftest import postgres_url, sqlite_url, store_url, use_store

__all__ = ["postgres_url", "sqlite_url", "store_url", "use_store"]
