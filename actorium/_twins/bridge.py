"""``MqttBridge``: devices' MQTT reports into twins, twins' desired state back to devices.

    bridge = twins.MqttBridge(Thermostat, "mqtt://bridge:secret@127.0.0.1:1883")
    async with bridge:             # connected, subscribed; reconnects by itself
        ...                        # devices publish to devices/{key}/reported

A report on ``devices/th-17/reported`` (a JSON object: the patch, or ``{"state": patch,
"seq": n}`` with the device's message counter) becomes ``Thermostat.get("th-17").report``;
every change of a twin's desired state is published, retained, on ``devices/th-17/desired``.

Delivery: QoS 1 in both directions. A report is acknowledged to the broker only after the
twin stored it (``mqtt_session.Acks``), in the order reports arrived, over a persistent
session: a bridge crash or a broker restart loses no acknowledged report, at the price of
a report being applied twice after a crash (a device that sends ``seq`` makes that second
application a no-op). Reports of one twin are applied in order; different twins in parallel
(``concurrency``). A report that can never be applied (not JSON, not an object, a value that
is not JSON) is acknowledged, counted and answered on ``devices/{key}/rejected``; one that
failed for a passing reason (the state store or the twin's worker down) is retried until it
is stored, holding the twin's later reports behind it.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import json
import logging
import math
from types import TracebackType
from typing import Any

from actorium._twins.broker import MqttBroker, broker_of
from actorium._twins.change import Part
from actorium._twins.fleet import type_name_of
from actorium._twins.mqtt_session import Acks, client, errors, keep_connected, stop
from actorium._twins.topics import Topics
from actorium.exceptions import (
    ActivationError,
    ActorDiedError,
    ActorUnavailableError,
    StateStoreError,
    TaskError,
    WorkerCrashedError,
)

log = logging.getLogger("actorium.twins.mqtt")

# Failures that pass: the report is retried, not refused.
_PASSING = (StateStoreError, ActivationError, ActorDiedError, ActorUnavailableError,
            WorkerCrashedError, ConnectionError)


@dataclasses.dataclass
class BridgeStats:
    """What a bridge did since it started (a live object: read ``bridge.stats``)."""

    received: int = 0        # reports received (redeliveries included)
    applied: int = 0         # reports stored by their twin (duplicates by seq included)
    rejected: int = 0        # reports that could never be applied (acknowledged, answered)
    retries: int = 0         # attempts that failed for a passing reason and were retried
    acked: int = 0           # PUBACKs sent
    desired_published: int = 0
    connections: int = 0     # successful connections (1 + reconnects)
    last_error: str = ""


class MqttBridge:
    """Bridge the MQTT topics of ``twin_type``'s devices to its twins (see module doc).

    * ``broker``: an ``mqtt://``/``mqtts://`` URL or an ``MqttBroker`` (default the loopback
      broker, ``mqtt://127.0.0.1:1883``).
    * ``topics``: a ``Topics`` (default ``devices/{key}/reported|desired|rejected``).
    * ``client_id``: the bridge's MQTT session (default ``actorium-bridge-<type name>``):
      keep it stable, the broker queues reports for it while it is away; two bridges must
      not share one.
    * ``publish_desired``: publish desired changes to devices (default True), starting with
      the changes after ``desired_since`` (a change's cursor; default: after the last one
      this ``client_id`` published, kept in the state store; for a new ``client_id``, from
      when the bridge starts).
    * ``concurrency``: reports being applied at once (over different twins).
    * ``reconnect_delay``: first wait before reconnecting (doubles to 30 s at most).
    """

    def __init__(self, twin_type: Any, broker: MqttBroker | str | None = None, *,
                 topics: Topics | None = None, client_id: str | None = None,
                 publish_desired: bool = True, desired_since: str | None = None,
                 concurrency: int = 64, reconnect_delay: float = 0.5) -> None:
        self.type_name = type_name_of(twin_type)
        if not hasattr(twin_type, "get"):
            raise TypeError(f"MqttBridge needs the twin class (a @twins.twin class), not "
                            f"{twin_type!r}: it calls its twins")
        self.twin_type = twin_type
        self.broker = broker_of(broker)
        self.topics = topics if topics is not None else Topics()
        if not isinstance(self.topics, Topics):
            raise TypeError(f"topics is a twins.Topics, got {topics!r}")
        self.client_id = client_id or f"actorium-bridge-{self.type_name}"
        if not isinstance(self.client_id, str) or len(self.client_id) > 128:
            raise ValueError(f"client_id is a string of at most 128 characters, got "
                             f"{client_id!r}")
        if not isinstance(publish_desired, bool):
            raise TypeError(f"publish_desired is a bool, got {publish_desired!r}")
        self.publish_desired = publish_desired
        if desired_since is not None and not isinstance(desired_since, str):
            raise TypeError(f"desired_since is a change's cursor (str), got {desired_since!r}")
        self._desired_cursor = desired_since
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise ValueError(f"concurrency must be an int >= 1, got {concurrency!r}")
        self.concurrency = concurrency
        if isinstance(reconnect_delay, bool) or not isinstance(reconnect_delay, (int, float)) \
                or not math.isfinite(reconnect_delay) or reconnect_delay <= 0:
            raise ValueError(f"reconnect_delay must be a positive number of seconds, got "
                             f"{reconnect_delay!r}")
        self.reconnect_delay = float(reconnect_delay)
        self.stats = BridgeStats()
        self.connected = asyncio.Event()
        self._lanes: dict[str, collections.deque[tuple[Any, Acks]]] = {}
        self._busy = 0
        self._idle_slot = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None
        self._workers: set[asyncio.Task[None]] = set()

    def __repr__(self) -> str:
        return f"MqttBridge({self.type_name!r}, {self.broker.describe()!r})"

    # ------------------------------------------------------------------ lifecycle
    async def __aenter__(self) -> MqttBridge:
        """Start the bridge and wait for its first connection (10 s, else the error)."""
        self._task = asyncio.create_task(self.run(), name=f"{self!r}")
        waiter = asyncio.create_task(self.connected.wait())
        done, _ = await asyncio.wait({self._task, waiter}, timeout=10,
                                     return_when=asyncio.FIRST_COMPLETED)
        if waiter not in done:
            waiter.cancel()
            await self.close()
            raise ConnectionError(f"{self!r} could not connect in 10 s: "
                                  f"{self.stats.last_error or 'no answer'}")
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        traceback: TracebackType | None) -> None:
        await self.close()

    async def close(self) -> None:
        """Stop: disconnect, let no report half-applied (the broker resends unacked ones)."""
        task, self._task = self._task, None
        await stop(task)
        workers = list(self._workers)
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)

    async def run(self) -> None:
        """Connect, apply reports and publish desired changes forever, reconnecting after
        every failure (waits double up to 30 s). Cancel it to stop."""
        await keep_connected(self._session, self.connected, self.reconnect_delay, self._failed)

    def _failed(self, exc: BaseException, was_connected: bool) -> None:
        self.stats.last_error = f"{type(exc).__name__}: {exc}"
        if was_connected:
            log.warning("%r lost its connection (%s): reconnecting", self, exc)
        else:
            log.info("%r cannot connect (%s): retrying", self, exc)

    # ------------------------------------------------------------------ one connection
    async def _session(self) -> None:
        mqtt = client(self.broker, self.client_id, manual_ack=True)
        async with mqtt:
            acks = Acks(mqtt)
            try:
                await mqtt.subscribe(self.topics.subscription(), qos=1)
                self.stats.connections += 1
                self.connected.set()
                log.info("%r connected, subscribed to %s", self, self.topics.subscription())
                async with asyncio.TaskGroup() as group:
                    if self.publish_desired:
                        group.create_task(self._desired(mqtt))
                    group.create_task(self._receive(mqtt, acks))
            except BaseExceptionGroup as grouped:
                failures = grouped.subgroup(errors())
                if failures is not None:
                    raise failures.exceptions[0] from None
                raise
            finally:
                acks.close()

    async def _receive(self, mqtt: Any, acks: Acks) -> None:
        async for message in mqtt.messages:
            self.stats.received += 1
            acks.received(message)
            key = self.topics.key_of(str(message.topic))
            if key is None:
                self._finished(acks, message)
                continue
            async with self._idle_slot:
                await self._idle_slot.wait_for(lambda: self._busy < self.concurrency)
                self._busy += 1
            lane = self._lanes.get(key)
            if lane is not None:
                lane.append((message, acks))
            else:
                self._lanes[key] = collections.deque([(message, acks)])
                worker = asyncio.create_task(self._lane(key, mqtt))
                self._workers.add(worker)
                worker.add_done_callback(self._workers.discard)

    async def _lane(self, key: str, mqtt: Any) -> None:
        """Apply the reports of one twin, in order, while there are any."""
        lane = self._lanes[key]
        try:
            while lane:
                message, acks = lane[0]
                try:
                    if not acks.closed:   # else: the broker sends it again on the new session
                        await self._apply(key, message, acks, mqtt)
                finally:
                    lane.popleft()
                    async with self._idle_slot:
                        self._busy -= 1
                        self._idle_slot.notify()
        finally:
            if self._lanes.get(key) is lane:
                del self._lanes[key]

    async def _apply(self, key: str, message: Any, acks: Acks, mqtt: Any) -> None:
        try:
            patch, seq = parse_report(message.payload)
        except ValueError as exc:
            await self._reject(mqtt, key, str(exc))
            self._finished(acks, message)
            return
        handle = self.twin_type.get(key)
        delay = 0.05
        while not acks.closed:
            try:
                await handle.report.remote(patch, seq=seq)
            except _PASSING as exc:
                self.stats.retries += 1
                self.stats.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("%r: report of %s(%r) failed (%s): retrying", self,
                            self.type_name, key, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            except (TaskError, ValueError, TypeError) as exc:
                # Refused by the twin (a value that is not JSON, a bad seq), or a hook of
                # the twin raised after storing it: either way, sending it again cannot help.
                cause = getattr(exc, "cause", exc)
                await self._reject(mqtt, key, f"{type(cause).__name__}: {cause}")
            else:
                self.stats.applied += 1
            self._finished(acks, message)
            return

    def _finished(self, acks: Acks, message: Any) -> None:
        before = acks.sent
        acks.done(message)
        self.stats.acked += acks.sent - before

    async def _reject(self, mqtt: Any, key: str, why: str) -> None:
        self.stats.rejected += 1
        log.warning("%r: report of %s(%r) rejected: %s", self, self.type_name, key, why)
        with contextlib.suppress(*errors(), ValueError):
            await mqtt.publish(self.topics.topic(self.topics.rejected, key),
                               json.dumps({"error": why}), qos=1)

    async def _desired(self, mqtt: Any) -> None:
        """Publish each desired change (retained, QoS 1) after the last one published.

        The position (the last change the broker acknowledged) is kept in the state store
        under the bridge's ``client_id``: a restarted bridge goes on from there, publishing
        nothing twice and skipping nothing desired while it was away."""
        from actorium._twins.stores import shared_store, twin_store
        from actorium._twins.watch import watch
        async with shared_store() as store:
            tables = twin_store(store)
            if self._desired_cursor is None:
                saved = await tables.position(self.client_id)
                self._desired_cursor = saved if saved is not None else await tables.head()
            async with contextlib.aclosing(watch(self.type_name, since=self._desired_cursor,
                                                 parts=(Part.DESIRED,))) as changes:
                async for change in changes:
                    document = change.document
                    payload = json.dumps({"desired": document["desired"],
                                          "delta": document["delta"],
                                          "version": document["desired_version"]})
                    await mqtt.publish(self.topics.topic(self.topics.desired, change.key),
                                       payload, qos=1, retain=True)
                    self.stats.desired_published += 1
                    self._desired_cursor = change.cursor
                    await tables.set_position(self.client_id, self.type_name, change.cursor)


def parse_report(payload: Any) -> tuple[dict[str, Any], int | None]:
    """(patch, seq) of a report's payload; ``ValueError`` saying why it is not one."""
    if isinstance(payload, (bytes, bytearray)):
        try:
            text = bytes(payload).decode()
        except UnicodeDecodeError:
            raise ValueError("the payload is not UTF-8 text (a report is a JSON object)") \
                from None
    elif isinstance(payload, str):
        text = payload
    else:
        raise ValueError(f"the payload is {type(payload).__name__}, not a JSON object")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"the payload is not JSON ({exc})") from None
    if not isinstance(value, dict):
        raise ValueError(f"a report is a JSON object, got {type(value).__name__}")
    if "state" in value and set(value) <= {"state", "seq"} and isinstance(value["state"], dict):
        seq = value.get("seq")
        if seq is not None and (isinstance(seq, bool) or not isinstance(seq, int)):
            raise ValueError(f"seq is an integer (the device's message counter), got {seq!r}")
        return value["state"], seq
    return value, None
