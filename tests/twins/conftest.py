"""Fixtures of the twin tests: the virtual actor tests' stores (sqlite, a real PostgreSQL)."""

from __future__ import annotations

from virtual.conftest import postgres_url, sqlite_url, store_url, use_store

from twins.mqtt_helpers import mosquitto

__all__ = ["mosquitto", "postgres_url", "sqlite_url", "store_url", "use_store"]
