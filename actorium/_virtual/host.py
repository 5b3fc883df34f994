"""The worker side of virtual actors: activating keys, passivating idle ones, timers, reminders.

An activation is an ordinary ``HostedActor`` (the mailbox that orders and runs calls) whose
incarnation is the epoch it claimed in the state store, plus an ``Activation`` that holds what
only virtual actors have: the store, the state's version, timers, the idle clock.

Passivation happens on the loop, in one go from the idle check to ``stop_taking_calls``: no call
can slip in between. From then on the mailbox refuses calls with MOVED (not run; the caller
sends them to the next activation). ``on_deactivate`` runs, the state is saved, the actor is
dropped, and only then is the node told, so the next activation (which the directory holds back
until then) loads what was saved. If the save fails, the activation takes calls again.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import traceback
from typing import TYPE_CHECKING, Any

import cloudpickle

from actorium._core.mailbox import HostedActor
from actorium._core.worker import picklable
from actorium._transport import serialization
from actorium._transport.protocol import Kind, TaskStatus
from actorium._virtual.handle import VirtualActorClass, VirtualActorHandle
from actorium._virtual.options import VirtualOptions
from actorium._virtual.stores import StateStore, open_store
from actorium._virtual.stores.base import Reminder
from actorium.exceptions import ActivationError, ActorDiedError, StaleActivationError

if TYPE_CHECKING:
    from actorium._core.worker import WorkerExecutor
    from actorium._virtual.actor import VirtualActor

OPTIONS_ATTRIBUTE = "__actorium_virtual__"   # set by @virtual


def encode(state: Any, fmt: str) -> bytes:
    if fmt == "json":
        return json.dumps(state, separators=(",", ":")).encode()
    return bytes(cloudpickle.dumps(state, protocol=5))


def decode(data: bytes, fmt: str) -> Any:
    if fmt == "json":
        return json.loads(data)
    return cloudpickle.loads(data)


class Activation:
    """One live activation of a key in this worker."""

    def __init__(self, host: VirtualHost, hosted: HostedActor, vclass: VirtualActorClass[Any],
                 key: str, epoch: int, version: int, store: StateStore) -> None:
        self.host = host
        self.hosted = hosted
        self.vclass = vclass
        self.type_name = vclass.type_name
        self.key = key
        self.epoch = epoch
        self.version = version
        self.store = store
        options = vclass.options
        self.idle_timeout = float(options.idle_timeout)
        self.fmt = options.state_format
        self.saved_digest: bytes | None = None
        self.last_active = time.monotonic()
        self.seen = 0
        self.ticks_done = 0
        self.timers: dict[str, asyncio.TimerHandle] = {}
        self.passivating = False
        self._save_lock = asyncio.Lock()
        self._handle: VirtualActorHandle[Any] | None = None

    @property
    def handle(self) -> VirtualActorHandle[Any]:
        """Its own handle, for timer ticks and reminders (made on first use: most
        activations never need one, and 100,000 of them should not pay for it)."""
        if self._handle is None:
            self._handle = self.vclass.get(self.key)   # type: ignore[assignment]
            caller = self.hosted.runtime.actors[self.hosted.actor_id].virtual
            if caller is not None and self.host.activations.get(self.hosted.actor_id) is self:
                caller.placed_here(self.hosted.runtime.address, self.epoch)  # type: ignore[attr-defined]
        assert self._handle is not None
        return self._handle

    @property
    def label(self) -> str:
        return f"{self.type_name}({self.key!r})"

    # ------------------------------------------------------------------ state
    async def save(self, instance: VirtualActor) -> None:
        data = encode(instance.state, self.fmt)
        digest = hashlib.blake2b(data, digest_size=16).digest()
        async with self._save_lock:
            if digest == self.saved_digest:
                return   # nothing changed since the last save or the load
            try:
                self.version = await self.store.save(self.type_name, self.key, epoch=self.epoch,
                                                     version=self.version, data=data,
                                                     fmt=self.fmt)
            except StaleActivationError:
                self.host.discard_soon(self, "a newer activation owns its key")
                raise
            self.saved_digest = digest

    async def clear(self, instance: VirtualActor) -> None:
        async with self._save_lock:
            try:
                await self.store.clear(self.type_name, self.key, epoch=self.epoch)
            except StaleActivationError:
                self.host.discard_soon(self, "a newer activation owns its key")
                raise
            self.version += 1
            self.saved_digest = None
        instance.state = {}

    # ------------------------------------------------------------------ timers
    def set_timer(self, name: str, method: str, due: float, period: float | None,
                  args: tuple[Any, ...]) -> None:
        self.cancel_timer(name)
        loop = asyncio.get_running_loop()

        def tick() -> None:
            if self.passivating:
                return
            if period is not None:
                self.timers[name] = loop.call_later(period, tick)
            else:
                self.timers.pop(name, None)
            self.host.call_self(self, method, args, quiet=True)

        self.timers[name] = loop.call_later(due, tick)

    def cancel_timer(self, name: str) -> bool:
        timer = self.timers.pop(name, None)
        if timer is None:
            return False
        timer.cancel()
        return True

    def deactivate_soon(self) -> None:
        self.host.deactivate(self)

    def reminders_changed(self) -> None:
        """A reminder was set: the reminder service reads the store within a fraction of a
        second, so nothing needs telling (kept as the place to wake it if that changes)."""

    # ------------------------------------------------------------------ idleness
    def idle_for(self, now: float) -> float | None:
        """Seconds this activation has been idle, or None if it is busy (loop thread)."""
        hosted = self.hosted
        activity = hosted.calls_done - self.ticks_done
        if hosted.pending_calls() or activity != self.seen:
            self.seen = activity
            self.last_active = now
            return None
        return now - self.last_active


class VirtualHost:
    """The virtual actors of one worker process (all on its loop)."""

    def __init__(self, executor: WorkerExecutor) -> None:
        self.executor = executor
        self.runtime = executor.runtime
        self.activations: dict[bytes, Activation] = {}
        self.classes: dict[bytes, VirtualActorClass[Any]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._sweep: asyncio.TimerHandle | None = None
        self.runtime.register_handler(Kind.ACTIVATE, self.on_activate)
        self.runtime.register_handler(Kind.REMIND, self.on_remind)
        self.runtime.register_handler(Kind.DEACTIVATE, self.on_deactivate)

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ------------------------------------------------------------------ activation
    def on_activate(self, header: list[Any], _buffers: list[Any]) -> None:
        _, actor_id, type_name, key, code_id, code, store_url = header[:7]
        self._spawn(self._activate(actor_id, type_name, key, code_id, code, store_url))

    async def _activate(self, actor_id: bytes, type_name: str, key: str, code_id: bytes,
                        code: bytes | None, store_url: str) -> None:
        label = f"{type_name}({key!r})"
        try:
            store = open_store(store_url)
            vclass = await self._class(code_id, code, store, type_name)
            old = self.activations.get(actor_id)
            if old is not None:   # a stale one (its node was thought dead): the new one wins
                await self.passivate(old, save=False, reason="a newer activation replaced it")
            claimed = await store.claim(type_name, key)
            cls: Any = vclass._cls
            instance: Any = cls.__new__(cls)
            instance.key = key
            instance.state = {}
            hosted = HostedActor(self.runtime, self.executor.pool, actor_id, label, True,
                                 vclass.options.max_concurrency, claimed.epoch)
            hosted.not_run_status = TaskStatus.MOVED
            hosted.method_events = vclass.method_events
            activation = Activation(self, hosted, vclass, key, claimed.epoch, claimed.version,
                                    store)
            instance.__actorium__ = activation
            if cls.__init__ is not object.__init__:
                instance.__init__()
            if claimed.data is not None:
                instance.state = decode(claimed.data, claimed.fmt)
                activation.saved_digest = hashlib.blake2b(
                    encode(instance.state, activation.fmt), digest_size=16).digest()
            await instance.on_activate()
        except Exception as exc:  # noqa: BLE001 - reported to the callers waiting for it
            error = ActivationError(f"virtual actor {label} could not be activated: "
                                    f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}",
                                    cause=picklable(exc))
            self.runtime.notify_node("virtual_ready", actor_id, 0, False,
                                     serialization.dumps(error)[1])
            return
        self.activations[actor_id] = activation
        self.executor.adopt(hosted)
        hosted.constructed(instance)
        self.runtime.notify_node("virtual_ready", actor_id, claimed.epoch, True, None)
        state = self.runtime.actors.get(actor_id)
        if state is not None and state.virtual is not None:   # this process calls it too
            state.virtual.placed_here(self.runtime.address, claimed.epoch)  # type: ignore[attr-defined]
        self.sweep_soon()

    async def _class(self, code_id: bytes, code: bytes | None, store: StateStore,
                     type_name: str) -> VirtualActorClass[Any]:
        found = self.classes.get(code_id)
        if found is not None:
            return found
        if code is None:
            code = await store.code(code_id)
            if code is None:
                raise LookupError(f"the class of {type_name} (code {code_id.hex()[:12]}) is not "
                                  f"in the state store")
        cls = cloudpickle.loads(code)
        options = getattr(cls, OPTIONS_ATTRIBUTE, None) or VirtualOptions(type_name=type_name)
        found = self.classes[code_id] = VirtualActorClass(cls, options)
        return found

    def on_deactivate(self, header: list[Any], _buffers: list[Any]) -> None:
        _, actor_id, epoch, save = header[:4]
        activation = self.activations.get(actor_id)
        if activation is not None and (epoch is None or activation.epoch == epoch):
            reason = "it was deactivated" if save else "it was killed"
            self._spawn(self.passivate(activation, save=bool(save), reason=reason))

    # ------------------------------------------------------------------ self calls
    def call_self(self, activation: Activation, method: str, args: tuple[Any, ...], *,
                  quiet: bool) -> asyncio.Future[Any]:
        """Call a method of the activation through its own mailbox (it takes its turn)."""
        ref = getattr(activation.handle, method).remote(*args)
        caller = activation.handle._state.virtual
        if quiet and caller is not None:
            caller.quiet.add(ref.id[:16])   # type: ignore[attr-defined]
        future: asyncio.Future[Any] = ref.as_future()

        def done(finished: asyncio.Future[Any]) -> None:
            if quiet:
                activation.ticks_done += 1
            if not finished.cancelled() and finished.exception() is not None:
                error = finished.exception()
                if not (quiet and isinstance(error, ActorDiedError)):
                    print(f"virtual actor {activation.label}: {method} failed: {error}")

        future.add_done_callback(done)
        return future

    # ------------------------------------------------------------------ reminders
    def on_remind(self, header: list[Any], _buffers: list[Any]) -> None:
        _, actor_id, epoch, type_name, key, name, due, period = header[:8]
        activation = self.activations.get(actor_id)
        if activation is None or activation.epoch != epoch:
            return   # passivated meanwhile: the reminder service fires it again
        reminder = Reminder(type_name, key, name, due, period)
        future = self.call_self(activation, "receive_reminder", (reminder,), quiet=False)
        future.add_done_callback(lambda _f: self._spawn(self._reminder_ran(activation.store,
                                                                          reminder)))

    async def _reminder_ran(self, store: StateStore, reminder: Reminder) -> None:
        next_due = None
        if reminder.period is not None:
            now = time.time()
            skipped = max(0, int((now - reminder.due) // reminder.period) + 1)
            next_due = reminder.due + skipped * reminder.period
        try:
            await store.reminder_fired(reminder, next_due)
        except Exception as exc:  # noqa: BLE001 - the service fires it again
            print(f"virtual actor reminder {reminder.name!r}: could not move it on: {exc}")

    # ------------------------------------------------------------------ passivation
    def sweep_soon(self) -> None:
        if self._sweep is None and self.activations:
            self._sweep = asyncio.get_running_loop().call_later(self._interval(), self._check)

    def _interval(self) -> float:
        shortest = min((a.idle_timeout for a in self.activations.values()), default=1.0)
        return min(max(shortest / 4, 0.02), 2.0)

    def _check(self) -> None:
        self._sweep = None
        now = time.monotonic()
        for activation in list(self.activations.values()):
            if activation.passivating:
                continue
            idle = activation.idle_for(now)
            if idle is not None and idle >= activation.idle_timeout:
                self._spawn(self.passivate(activation, save=True, reason="it was idle"))
        self.sweep_soon()

    def deactivate(self, activation: Activation) -> None:
        """``self.deactivate()`` from a call: the calls after it go to the next activation;
        this one is passivated (and saved) as soon as the calls running now have ended."""
        if not activation.passivating:
            activation.hosted.stop_taking_calls(ActorDiedError(
                f"virtual actor {activation.label} activation {activation.epoch} deactivated "
                f"itself", actor_id=activation.hosted.actor_id.hex()))
            self._spawn(self.passivate(activation, save=True, reason="it asked to"))

    def discard_soon(self, activation: Activation, reason: str) -> None:
        """Drop a stale activation without saving (its key belongs to a newer one).

        It refuses calls at once (they go to the newer activation), before the call that
        found out has even returned; the rest of the passivation follows."""
        if not activation.passivating:
            activation.hosted.stop_taking_calls(ActorDiedError(
                f"virtual actor {activation.label} activation {activation.epoch} is stale: "
                f"{reason}", actor_id=activation.hosted.actor_id.hex()))
            self._spawn(self.passivate(activation, save=False, reason=reason))

    async def passivate(self, activation: Activation, *, save: bool, reason: str) -> None:
        """Stop taking calls, run ``on_deactivate``, save, drop, tell the node."""
        if activation.passivating:
            return
        activation.passivating = True
        hosted = activation.hosted
        ended = ActorDiedError(f"virtual actor {activation.label} activation {activation.epoch} "
                               f"was passivated ({reason}); calls go to the next activation",
                               actor_id=hosted.actor_id.hex())
        hosted.stop_taking_calls(ended)
        for name in list(activation.timers):
            activation.cancel_timer(name)
        instance = hosted.instance
        # A call still running asked for this (deactivate(), a refused save): let it end
        # (calls that arrive meanwhile are refused: they go to the next activation).
        deadline = time.monotonic() + 10.0
        while hosted.running and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.005)
        if save and instance is not None:
            try:
                await instance.on_deactivate()
            except Exception:  # noqa: BLE001 - its state is saved all the same
                traceback.print_exc()
            try:
                await activation.save(instance)
            except StaleActivationError:
                pass   # a newer activation owns the key: nothing of ours may be written
            except Exception as exc:  # noqa: BLE001 - keep the state: stay active, retry later
                print(f"virtual actor {activation.label}: passivation postponed, its state "
                      f"could not be saved: {exc}")
                activation.passivating = False
                activation.last_active = time.monotonic()
                hosted.resume()
                self.runtime.notify_node("virtual_resumed", hosted.actor_id, activation.epoch)
                return
        self.executor._bury(hosted, ended)
        if self.activations.get(hosted.actor_id) is activation:
            del self.activations[hosted.actor_id]
        self.runtime.notify_node("virtual_passivated", hosted.actor_id, activation.epoch)

    def listing(self) -> list[list[Any]]:
        return [[a.hosted.actor_id, a.type_name, a.key, a.epoch]
                for a in self.activations.values() if not a.passivating]

