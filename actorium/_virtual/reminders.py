"""The reminder service: fires durable reminders from the state store.

One service runs per runtime: in the node of a single-node runtime, in the head of a cluster.
It keeps nothing but a short lease per firing in memory: every few hundred milliseconds it reads
the reminders that are due, activates each one's actor through the directory (so a passivated
actor, or one whose node or head restarted, is activated again from its saved state) and sends
REMIND to the worker hosting it. The activation runs ``receive_reminder`` as a call like any
other and then moves the reminder on in the store (or deletes a one-shot one). A firing that
did not complete within ``LEASE_SECONDS`` (its worker died, it was passivated before it ran) is
fired again: reminders fire at least once.
"""

from __future__ import annotations

import asyncio
import time
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

from actorium._transport.protocol import Kind
from actorium._virtual.handle import virtual_actor_id
from actorium._virtual.stores import StateStore
from actorium._virtual.stores.base import Reminder

POLL_SECONDS = 0.25
LEASE_SECONDS = 30.0
_BATCH = 500

Activate = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
Send = Callable[[str, list[Any]], None]


class ReminderService:
    """Reads due reminders and fires them (see the module docstring)."""

    def __init__(self, store: StateStore, activate: Activate, send: Send) -> None:
        self.store = store
        self.activate = activate
        self.send = send
        self.leases: dict[tuple[str, str, str, float], float] = {}
        self.fired = 0
        self._task: asyncio.Task[None] | None = None
        self._firing: set[asyncio.Task[None]] = set()
        self._code: dict[str, bytes] = {}

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def close(self) -> None:
        tasks = [t for t in (self._task, *self._firing) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._task = None

    async def _run(self) -> None:
        complained = False
        while True:
            try:
                await self._fire_due()
                complained = False
            except Exception as exc:  # noqa: BLE001 - a store that is down: keep trying
                if not complained:
                    print(f"actorium reminders: cannot read {self.store.url}: {exc}")
                    complained = True
            await asyncio.sleep(POLL_SECONDS)

    async def _fire_due(self) -> None:
        now = time.time()
        for lease, until in list(self.leases.items()):
            if until < now:
                del self.leases[lease]
        for reminder in await self.store.due_reminders(now, _BATCH):
            lease = (reminder.type_name, reminder.key, reminder.name, reminder.due)
            if lease in self.leases:
                continue
            self.leases[lease] = now + LEASE_SECONDS
            task = asyncio.get_running_loop().create_task(self._fire(reminder))
            self._firing.add(task)
            task.add_done_callback(self._firing.discard)

    async def _fire(self, reminder: Reminder) -> None:
        try:
            code_id = self._code.get(reminder.type_name)
            if code_id is None:
                code_id = await self.store.current_code(reminder.type_name)
                if code_id is None:
                    print(f"actorium reminders: {reminder.name!r} of {reminder.type_name}"
                          f"({reminder.key!r}) is due, but no class of {reminder.type_name} "
                          f"is in the store")
                    return
                self._code[reminder.type_name] = code_id
            actor_id = virtual_actor_id(reminder.type_name, reminder.key)
            described = await self.activate({"actor_id": actor_id, "type_name":
                                             reminder.type_name, "key": reminder.key,
                                             "code_id": code_id, "code": None})
            self.send(described["address"], [Kind.REMIND, actor_id, described["incarnation"],
                                             reminder.type_name, reminder.key, reminder.name,
                                             reminder.due, reminder.period])
            self.fired += 1
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - logged; the lease runs out and it fires again
            traceback.print_exc()
