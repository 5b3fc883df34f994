"""What a state store of virtual actors does, whatever the database underneath.

Three tables, the same in every implementation:

* ``virtual_state`` — one row per (type, key) that ever held state: the state's bytes, its
  ``version`` (bumped by every write) and its ``epoch`` (bumped by every activation). An
  activation *claims* its key (epoch + 1, in one statement that also reads the state) and
  writes with the epoch and version it holds; a write whose epoch or version is no longer the
  row's is refused (``StaleActivationError``). The row is the fence that keeps one writer per
  key even when two activations exist for a while (a node cut off and its keys reactivated
  elsewhere): the old one can never overwrite what the new one wrote.
* ``virtual_reminders`` — durable reminders: (type, key, name) -> next due time (unix
  seconds) and period. A reminder service reads the due ones, and the activation that ran a
  reminder moves it on (or deletes a one-shot reminder) only if it is still the firing it ran.
* ``virtual_code`` — the pickled class of each type, by content id, so that a reminder can
  activate a type that no live process has imported.

Every method is a coroutine and must be awaited on the loop the store was opened on;
implementations never block that loop (sqlite runs on a thread of its own).
"""

from __future__ import annotations

import abc
import dataclasses
from typing import NamedTuple

from actorium.exceptions import StaleActivationError


class Claimed(NamedTuple):
    """What an activation gets when it claims its key."""

    data: bytes | None      # the saved state, or None if the key never saved any
    fmt: str                # how ``data`` is encoded ("pickle" or "json")
    version: int            # the version of ``data`` (0: nothing saved yet)
    epoch: int              # this activation's epoch: it fences every write it makes


@dataclasses.dataclass(frozen=True)
class Reminder:
    """A durable reminder of one virtual actor (what ``reminders()`` lists).

    ``due`` is the next time it fires (unix seconds), ``period`` the seconds between firings,
    or None for a reminder that fires once and is then deleted.
    """

    type_name: str
    key: str
    name: str
    due: float
    period: float | None


class StateStore(abc.ABC):
    """A database of virtual actor state, reminders and code (see the module docstring)."""

    url: str

    # ------------------------------------------------------------------ state
    @abc.abstractmethod
    async def claim(self, type_name: str, key: str) -> Claimed:
        """Start a new activation of the key: bump its epoch and read its state, atomically."""

    @abc.abstractmethod
    async def save(self, type_name: str, key: str, *, epoch: int, version: int, data: bytes,
                   fmt: str) -> int:
        """Write state over ``version``, fenced by ``epoch``; returns the new version.

        Raises ``StaleActivationError`` if a newer activation claimed the key or the version
        moved on (nothing is written then).
        """

    @abc.abstractmethod
    async def clear(self, type_name: str, key: str, *, epoch: int) -> None:
        """Forget the key's state (fenced by ``epoch``), keeping the epoch counter."""

    @abc.abstractmethod
    async def read(self, type_name: str, key: str) -> Claimed | None:
        """The key's row as it is, without claiming it (inspection, tests)."""

    @abc.abstractmethod
    async def counts(self) -> dict[str, int]:
        """How many keys of each type hold saved state."""

    # ------------------------------------------------------------------ reminders
    @abc.abstractmethod
    async def set_reminder(self, reminder: Reminder) -> None:
        """Create or replace the reminder (type, key, name)."""

    @abc.abstractmethod
    async def cancel_reminder(self, type_name: str, key: str, name: str) -> bool:
        """Delete the reminder; False if there was none of that name."""

    @abc.abstractmethod
    async def reminders(self, type_name: str | None = None, key: str | None = None,
                        limit: int = 10_000) -> list[Reminder]:
        """Reminders, of one type and/or key if given, soonest first."""

    @abc.abstractmethod
    async def due_reminders(self, now: float, limit: int) -> list[Reminder]:
        """Reminders due at ``now`` or before, soonest first."""

    @abc.abstractmethod
    async def next_due(self) -> float | None:
        """When the soonest reminder is due (None: there is none)."""

    @abc.abstractmethod
    async def reminder_fired(self, fired: Reminder, next_due: float | None) -> None:
        """Move a reminder that fired at ``fired.due`` on to ``next_due`` (None: delete it),
        unless it was changed or cancelled meanwhile."""

    # ------------------------------------------------------------------ code
    @abc.abstractmethod
    async def register_code(self, type_name: str, code_id: bytes, code: bytes) -> None:
        """Keep the pickled class of a type (idempotent); the last registered is current."""

    @abc.abstractmethod
    async def code(self, code_id: bytes) -> bytes | None:
        """The pickled class with this content id, if registered."""

    @abc.abstractmethod
    async def current_code(self, type_name: str) -> bytes | None:
        """The content id of the type's most recently registered class, if any."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release connections and threads (the store cannot be used afterwards)."""


def stale(type_name: str, key: str, epoch: int, why: str) -> StaleActivationError:
    return StaleActivationError(
        f"virtual actor {type_name}({key!r}) activation {epoch}: write refused, {why}",
        type_name=type_name, key=key, epoch=epoch)
