"""The head's memory across restarts: nodes, the actor directory and names, in sqlite.

The head writes through to a sqlite file in its session directory on every change (changes
are rare: a node joins or dies, an actor is placed, named or buried), so a restarted head reads
back the names and the directory and keeps answering ``get_actor`` for actors that survived it.
Calls never touch it: callers cache actor locations.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS nodes (node_id BLOB PRIMARY KEY, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS actors (actor_id BLOB PRIMARY KEY, record TEXT NOT NULL,
                                   spec BLOB);
CREATE TABLE IF NOT EXISTS names (namespace TEXT, name TEXT, actor_id BLOB,
                                  PRIMARY KEY (namespace, name));
CREATE TABLE IF NOT EXISTS placement_groups (group_id TEXT PRIMARY KEY, record TEXT NOT NULL);
"""


class HeadStore:
    """Write-through persistence of the head's tables (one connection, the head's thread)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    def save_node(self, node_id: bytes, record: dict[str, Any]) -> None:
        self._db.execute("INSERT OR REPLACE INTO nodes VALUES (?, ?)",
                         (node_id, json.dumps(record)))

    def save_actor(self, actor_id: bytes, record: dict[str, Any], spec: bytes | None) -> None:
        if spec is None:
            self._db.execute("INSERT INTO actors VALUES (?, ?, NULL) ON CONFLICT(actor_id) "
                             "DO UPDATE SET record = excluded.record",
                             (actor_id, json.dumps(record)))
        else:
            self._db.execute("INSERT OR REPLACE INTO actors VALUES (?, ?, ?)",
                             (actor_id, json.dumps(record), spec))

    def save_name(self, namespace: str, name: str, actor_id: bytes | None) -> None:
        if actor_id is None:
            self._db.execute("DELETE FROM names WHERE namespace = ? AND name = ?",
                             (namespace, name))
        else:
            self._db.execute("INSERT OR REPLACE INTO names VALUES (?, ?, ?)",
                             (namespace, name, actor_id))

    def save_group(self, group_id: str, record: dict[str, Any] | None) -> None:
        """A placement group as it is now (None: forget it)."""
        if record is None:
            self._db.execute("DELETE FROM placement_groups WHERE group_id = ?", (group_id,))
        else:
            self._db.execute("INSERT OR REPLACE INTO placement_groups VALUES (?, ?)",
                             (group_id, json.dumps(record)))

    def load_groups(self) -> list[dict[str, Any]]:
        return [json.loads(row[0])
                for row in self._db.execute("SELECT record FROM placement_groups")]

    def load(self) -> tuple[dict[bytes, dict[str, Any]], dict[bytes, tuple[dict[str, Any],
                                                                          bytes | None]],
                            dict[tuple[str, str], bytes]]:
        """Everything saved: (nodes, actors with their restart specs, names)."""
        nodes = {row[0]: json.loads(row[1])
                 for row in self._db.execute("SELECT node_id, record FROM nodes")}
        actors = {row[0]: (json.loads(row[1]), row[2])
                  for row in self._db.execute("SELECT actor_id, record, spec FROM actors")}
        names = {(row[0], row[1]): row[2]
                 for row in self._db.execute("SELECT namespace, name, actor_id FROM names")}
        return nodes, actors, names

    def close(self) -> None:
        self._db.close()
