"""Actor checkpoints: save an actor's state on a policy, restore it when the actor restarts.

An actor opts in by defining two methods::

    def __actorium_checkpoint__(self) -> Any: ...        # return its state (picklable)
    def __actorium_restore__(self, state: Any) -> None: ...   # take it back after __init__

and, to save automatically, the options ``checkpoint_every=N`` (calls) and/or
``checkpoint_interval=T`` (seconds, checked after each call); ``actorium.checkpoint()`` inside
a method asks for one after that call. A checkpoint is written *before* the result of the call
that triggered it is sent, so a caller that saw the result knows the state is saved.

Storage is one sqlite file per runtime session (``<session dir>/checkpoints.sqlite3``, WAL
mode), shared by the worker processes of the node: a committed checkpoint survives the death
of the worker that wrote it. It goes when the session ends.
"""

from __future__ import annotations

import pickle
import sqlite3
import sys
import threading
import time
import traceback
from typing import Any

import cloudpickle

SAVE_HOOK = "__actorium_checkpoint__"
RESTORE_HOOK = "__actorium_restore__"
_FILE = "checkpoints.sqlite3"


class CheckpointStore:
    """The session's checkpoint file, opened lazily by each process that needs it."""

    def __init__(self, session_dir: str) -> None:
        self.path = f"{session_dir}/{_FILE}"
        self._connection: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def _db(self) -> sqlite3.Connection:
        if self._connection is None:
            connection = sqlite3.connect(self.path, timeout=10.0, check_same_thread=False,
                                         isolation_level=None)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")   # durable across process death
            connection.execute("CREATE TABLE IF NOT EXISTS checkpoint (actor_id BLOB PRIMARY "
                               "KEY, incarnation INTEGER, saved_at REAL, calls INTEGER, "
                               "state BLOB)")
            self._connection = connection
        return self._connection

    def save(self, actor_id: bytes, incarnation: int, calls: int, state: bytes) -> None:
        """Write the actor's checkpoint. Blocks on disk: never on an event loop.

        A write from an older incarnation than the stored one is ignored: a dying instance
        finishing a call must not overwrite what its successor saved.
        """
        with self._lock:
            self._db().execute(
                "INSERT INTO checkpoint VALUES (?, ?, ?, ?, ?) ON CONFLICT(actor_id) DO UPDATE "
                "SET incarnation = excluded.incarnation, saved_at = excluded.saved_at, "
                "calls = excluded.calls, state = excluded.state "
                "WHERE excluded.incarnation >= checkpoint.incarnation",
                (actor_id, incarnation, time.time(), calls, state))

    def load(self, actor_id: bytes) -> bytes | None:
        with self._lock:
            row = self._db().execute("SELECT state FROM checkpoint WHERE actor_id = ?",
                                     (actor_id,)).fetchone()
        return None if row is None else bytes(row[0])

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None


class Checkpointer:
    """One actor's checkpoint policy: counts calls, says when a save is due, saves."""

    __slots__ = ("store", "actor_id", "incarnation", "every", "interval", "calls",
                 "since_save", "last_save", "requested")

    def __init__(self, store: CheckpointStore, actor_id: bytes, incarnation: int,
                 every: int | None, interval: float | None) -> None:
        self.store = store
        self.actor_id = actor_id
        self.incarnation = incarnation
        self.every = every
        self.interval = interval
        self.calls = 0
        self.since_save = 0
        self.last_save = time.monotonic()
        self.requested = False

    def call_done(self) -> bool:
        """Count a finished call; True if a checkpoint is due now."""
        self.calls += 1
        self.since_save += 1
        return self.requested or (self.every is not None and self.since_save >= self.every) \
            or (self.interval is not None and time.monotonic() - self.last_save >= self.interval)

    def capture(self, instance: Any) -> bytes | None:
        """The instance's state, pickled (calls its hook; on the thread the actor runs on)."""
        self.requested = False
        self.since_save = 0
        self.last_save = time.monotonic()
        try:
            # In-band pickling: the state is one blob in the file (numpy arrays included).
            state: bytes = cloudpickle.dumps(getattr(instance, SAVE_HOOK)(), protocol=5)
            return state
        except Exception:  # noqa: BLE001 - a failed checkpoint must not fail the call
            print(f"actorium: checkpoint of actor {self.actor_id.hex()} failed:",
                  file=sys.stderr)
            traceback.print_exc()
            return None

    def write(self, state: bytes | None) -> None:
        if state is not None:
            self.store.save(self.actor_id, self.incarnation, self.calls, state)

    def restore(self, instance: Any) -> bool:
        """Give a new incarnation the last saved state; True if there was one."""
        saved = self.store.load(self.actor_id)
        if saved is None or not hasattr(instance, RESTORE_HOOK):
            return False
        getattr(instance, RESTORE_HOOK)(pickle.loads(saved))
        return True
