"""``actorium.VirtualActor``: the base class of virtual actors.

A subclass keeps its durable state in ``self.state`` (any picklable value, or JSON with
``state_format="json"``), loaded before ``on_activate`` runs and saved when the activation is
passivated and whenever the actor awaits ``save_state()``. It can set durable reminders
(``set_reminder``; they call ``receive_reminder`` even when the actor is passivated, reactivating
it) and timers (``set_timer``; they call a method while the activation lives).

Every method of a virtual actor runs on the event loop of the worker hosting it, one call at a
time by default (turn-based: ``max_concurrency=1``). Blocking work belongs in
``await asyncio.to_thread(...)``.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from actorium._virtual.stores.base import Reminder

if TYPE_CHECKING:
    from actorium._virtual.host import Activation

_NOT_ACTIVE = ("this virtual actor is not active in this process: its helpers work only inside "
               "its own methods")


class VirtualActor:
    """Subclass this and decorate the subclass with ``@actorium.virtual``.

    Attributes set before ``__init__`` runs: ``key`` (the actor's key), ``state`` (``{}``, then
    the saved state if there is one, once ``__init__`` has returned).
    Hooks (override): ``on_activate``, ``on_deactivate``, ``receive_reminder``.
    """

    key: str
    state: Any
    __actorium__: Activation

    # ------------------------------------------------------------------ hooks
    async def on_activate(self) -> None:
        """Runs after the state is loaded and before the first call (a raise fails the calls
        waiting for this activation with ``ActivationError``; the next call tries again)."""

    async def on_deactivate(self) -> None:
        """Runs when the activation is passivated, before the state is saved; no call runs
        meanwhile. Not run when the node dies (state since the last save is then lost)."""

    async def receive_reminder(self, reminder: Reminder) -> None:
        """A durable reminder fired. Override it to handle ``set_reminder`` reminders."""
        raise NotImplementedError(f"{type(self).__qualname__} set reminder {reminder.name!r} but "
                                  f"does not define receive_reminder()")

    # ------------------------------------------------------------------ state
    async def save_state(self) -> None:
        """Write ``self.state`` to the store now (awaits the database).

        Raises ``StaleActivationError`` if a newer activation owns the key (this one then
        deactivates: its calls go to the new one) and ``StateStoreError`` if the store failed.
        """
        await self._activation().save(self)

    async def clear_state(self) -> None:
        """Delete the saved state (the next activation starts from ``__init__``'s state)."""
        await self._activation().clear(self)

    @property
    def state_version(self) -> int:
        """The version of the saved state this activation holds (0: never saved)."""
        return self._activation().version

    @property
    def epoch(self) -> int:
        """This activation's epoch: every activation of the key gets a higher one."""
        return self._activation().epoch

    def deactivate(self) -> None:
        """Passivate this activation once the current call is over (without waiting for the
        idle timeout); the state is saved as for an idle passivation. Calls after this one
        go to the next activation."""
        self._activation().deactivate_soon()

    # ------------------------------------------------------------------ reminders
    async def set_reminder(self, name: str, *, due: float | datetime.datetime,
                           period: float | None = None) -> Reminder:
        """Set (or replace) the durable reminder ``name``.

        ``due``: seconds from now, or an aware ``datetime``; ``period``: seconds between
        firings after that, or None to fire once. It is stored in the state store and fires
        ``receive_reminder`` whether or not the actor is active then (activating it), also after
        restarts of nodes and the head; firings are at least once.
        """
        reminder = _reminder(self._activation(), name, due, period)
        await self._activation().store.set_reminder(reminder)
        self._activation().reminders_changed()
        return reminder

    async def cancel_reminder(self, name: str) -> bool:
        """Delete the reminder ``name``; False if there was none."""
        activation = self._activation()
        return await activation.store.cancel_reminder(activation.type_name, self.key, name)

    async def reminders(self) -> list[Reminder]:
        """This actor's reminders, soonest first."""
        activation = self._activation()
        return await activation.store.reminders(activation.type_name, self.key)

    # ------------------------------------------------------------------ timers
    def set_timer(self, name: str, callback: Callable[..., Any] | str, *, due: float,
                  period: float | None = None, args: tuple[Any, ...] = ()) -> None:
        """Call ``callback`` (a method of this actor, or its name) in ``due`` s, then every
        ``period`` s, while this activation lives. Each tick is a call like any other (it takes
        its turn) but does not keep the activation from being passivated; timers end with the
        activation and are not durable (use a reminder for that). Replaces a timer of that name.
        """
        method = callback if isinstance(callback, str) else getattr(callback, "__name__", None)
        if not isinstance(method, str) or not callable(getattr(self, method, None)):
            raise ValueError(f"set_timer: {callback!r} is not a method of "
                             f"{type(self).__qualname__}")
        _check_seconds("due", due, allow_zero=True)
        if period is not None:
            _check_seconds("period", period)
        self._activation().set_timer(name, method, float(due), period, tuple(args))

    def cancel_timer(self, name: str) -> bool:
        """Stop the timer ``name``; False if there was none."""
        return self._activation().cancel_timer(name)

    def _activation(self) -> Activation:
        activation: Activation | None = self.__dict__.get("__actorium__")
        if activation is None:
            raise RuntimeError(_NOT_ACTIVE)
        return activation


# The names VirtualActor defines: helpers, not remote methods (receive_reminder excepted).
BASE_NAMES = frozenset(name for name in vars(VirtualActor) if not name.startswith("__"))


def _check_seconds(name: str, value: Any, *, allow_zero: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name} must be a {'non-negative' if allow_zero else 'positive'} "
                         f"number of seconds, got {value!r}")


def _reminder(activation: Activation, name: str, due: float | datetime.datetime,
              period: float | None) -> Reminder:
    import time
    if not isinstance(name, str) or not name:
        raise ValueError(f"a reminder name is a non-empty string, got {name!r}")
    if isinstance(due, datetime.datetime):
        if due.tzinfo is None:
            raise ValueError("set_reminder: due must be an aware datetime (with a tzinfo)")
        when = due.timestamp()
    else:
        _check_seconds("due", due, allow_zero=True)
        when = time.time() + float(due)
    if period is not None:
        _check_seconds("period", period)
        period = float(period)
    return Reminder(activation.type_name, activation.key, name, when, period)
