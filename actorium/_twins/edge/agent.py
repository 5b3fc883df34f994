"""``EdgeAgent``: next to the devices, it keeps their reports while the cluster is away.

Devices hand their reports to the agent (its local HTTP API, or ``await agent.report``);
the agent stores each one in its durable queue (``Outbox``) before answering, and a sender
publishes the queue to the cluster's broker, oldest first, at QoS 1, on the topics the
twins' ``MqttBridge`` reads. A report leaves the queue only once the broker acknowledged
it. While the broker cannot be reached (a cut link, the cluster down) reports pile up on
disk, across restarts of the agent too, and go out in order when it is back; reports older
than ``ttl`` are dropped and counted instead. Every report carries its device's ``seq``,
so a resend after a lost acknowledgement changes nothing in the twin: in order, no
duplicates.

The other way, the agent subscribes to the devices' desired topics and keeps the latest
desired state of each (retained by the broker), which devices read or long-poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
from types import TracebackType
from typing import Any

from actorium._twins.broker import MqttBroker, broker_of
from actorium._twins.document import check_patch
from actorium._twins.edge.outbox import Outbox, Pending
from actorium._twins.mqtt_session import client, errors, keep_connected, stop
from actorium._twins.topics import Topics, check_key

log = logging.getLogger("actorium.twins.edge")


class EdgeAgent:
    """An edge agent (see module doc). ``async with EdgeAgent(...)`` runs it.

    * ``broker``: the cluster's broker (URL or ``MqttBroker``; loopback by default).
    * ``queue``: the path of the durable queue file (sqlite), kept across restarts.
    * ``ttl``: seconds a report may wait before it is dropped (None: no limit).
    * ``topics``: the bridge's ``Topics``; ``devices``: the keys whose desired state to
      follow (default: every device's, ``devices/+/desired``).
    * ``client_id``: the agent's MQTT session (default ``actorium-edge-<queue file>``).
    * ``window``: reports published before waiting for their acknowledgements.
    * ``max_queued``: reports the queue may hold; beyond it a report is refused
      (``QueueFullError``) rather than a silent loss.
    """

    def __init__(self, broker: MqttBroker | str | None = None, *, queue: str,
                 ttl: float | None = None, topics: Topics | None = None,
                 devices: list[str] | None = None, client_id: str | None = None,
                 window: int = 100, max_queued: int = 1_000_000,
                 reconnect_delay: float = 0.5) -> None:
        self.broker = broker_of(broker)
        if not isinstance(queue, str) or not queue:
            raise ValueError(f"queue is the path of the edge queue file, got {queue!r}")
        if ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, (int, float))
                                or not math.isfinite(ttl) or ttl <= 0):
            raise ValueError(f"ttl must be a positive number of seconds or None, got {ttl!r}")
        self.ttl = ttl
        self.topics = topics if topics is not None else Topics()
        self.devices = None if devices is None else [check_key(key) for key in devices]
        if isinstance(window, bool) or not isinstance(window, int) or window < 1:
            raise ValueError(f"window must be an int >= 1, got {window!r}")
        self.window = window
        self.reconnect_delay = reconnect_delay
        self.outbox = Outbox(queue, max_queued=max_queued)
        self.client_id = client_id or "actorium-edge-" + "".join(
            c if c.isalnum() else "-" for c in self.outbox.path)[-100:].lstrip("-")
        self.connected = asyncio.Event()
        self._queued = asyncio.Event()
        self._desired_changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None
        self.connections = 0
        self.last_error = ""

    def __repr__(self) -> str:
        return f"EdgeAgent({self.outbox.path!r}, {self.broker.describe()!r})"

    # ------------------------------------------------------------------ devices' side
    async def report(self, key: str, patch: dict[str, Any]) -> tuple[int, int]:
        """Queue a report of device ``key`` durably; returns (its seq, reports queued).
        ``ValueError``/``TypeError`` for a bad key or patch, ``QueueFullError`` if full."""
        check_key(key)
        check_patch(patch, f"report of {key!r}")
        made = await self.outbox.put(key, patch)
        self._queued.set()
        return made

    async def desired(self, key: str) -> dict[str, Any] | None:
        """The latest desired state received for ``key`` (``desired``, ``delta``,
        ``version``), or None if none came yet."""
        return await self.outbox.desired(check_key(key))

    async def wait_desired(self, key: str, after_version: int, wait: float
                           ) -> dict[str, Any] | None:
        """The desired state of ``key`` once its version is above ``after_version``
        (or what there is after ``wait`` seconds)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            found = await self.desired(key)
            if found is not None and int(found.get("version", 0)) > after_version:
                return found
            left = deadline - loop.time()
            if left <= 0:
                return found
            async with self._desired_changed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._desired_changed.wait(), left)

    async def status(self) -> dict[str, Any]:
        """``connected``, ``queued``, ``oldest_age`` (s), ``sent``, ``expired`` (totals over
        the queue file's life), ``connections``, ``last_error``."""
        found = await self.outbox.status()
        found.update(connected=self.connected.is_set(), connections=self.connections,
                     last_error=self.last_error)
        return found

    # ------------------------------------------------------------------ lifecycle
    async def __aenter__(self) -> EdgeAgent:
        self._task = asyncio.create_task(self.run(), name=repr(self))
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        traceback: TracebackType | None) -> None:
        await self.close()

    async def close(self) -> None:
        task, self._task = self._task, None
        await stop(task)
        await self.outbox.close()

    async def run(self) -> None:
        """Send the queue and follow desired states forever, reconnecting (cancel to stop).
        Does not need the broker to start: reports queue up until it answers."""
        async with asyncio.TaskGroup() as group:
            group.create_task(self._sweep_expired())
            await keep_connected(self._session, self.connected, self.reconnect_delay,
                                 self._failed)

    async def _sweep_expired(self) -> None:
        """Drop reports past their ttl every second, connected or not: the queue grows
        during an outage, and a report too old to matter should not wait on disk (nor be
        counted as queued) until the link is back."""
        if self.ttl is None:
            return
        while True:
            await self._expire()
            await asyncio.sleep(1.0)

    async def _expire(self) -> None:
        expired = await self.outbox.expire(self.ttl)
        if expired:
            log.warning("%r dropped %d report(s) older than ttl=%s s", self, expired, self.ttl)

    def _failed(self, exc: BaseException, was_connected: bool) -> None:
        self.last_error = f"{type(exc).__name__}: {exc}"
        if was_connected:
            log.warning("%r lost the broker (%s): queueing reports", self, exc)

    async def _session(self) -> None:
        mqtt = client(self.broker, self.client_id, manual_ack=False)
        async with mqtt:
            try:
                for key in self.devices or ["+"]:
                    template = self.topics.desired
                    topic = template.replace("{key}", key) if key != "+" else \
                        self.topics.desired_subscription()
                    await mqtt.subscribe(topic, qos=1)
                self.connections += 1
                self.connected.set()
                log.info("%r connected", self)
                async with asyncio.TaskGroup() as group:
                    group.create_task(self._send(mqtt))
                    group.create_task(self._follow_desired(mqtt))
            except BaseExceptionGroup as grouped:
                failures = grouped.subgroup(errors())
                if failures is not None:
                    raise failures.exceptions[0] from None
                raise

    async def _send(self, mqtt: Any) -> None:
        while True:
            await self._expire()       # none of a batch may be past its ttl when it leaves
            batch = await self.outbox.oldest(self.window)
            if not batch:
                self._queued.clear()
                with contextlib.suppress(TimeoutError):
                    # Woken by a new report (or every second, to look again).
                    await asyncio.wait_for(self._queued.wait(), 1.0)
                continue
            outcomes = await asyncio.gather(*(self._publish(mqtt, report) for report in batch),
                                            return_exceptions=True)
            # Only the unbroken run of acknowledged reports leaves the queue: a later one
            # acknowledged after an earlier failure is sent again (its seq makes it a no-op).
            done: list[int] = []
            for report, outcome in zip(batch, outcomes, strict=True):
                if isinstance(outcome, BaseException):
                    await self.outbox.sent(done)
                    raise outcome
                done.append(report.id)
            await self.outbox.sent(done)

    async def _publish(self, mqtt: Any, report: Pending) -> None:
        payload = json.dumps({"state": report.patch, "seq": report.seq},
                             separators=(",", ":"))
        await mqtt.publish(self.topics.topic(self.topics.reported, report.key), payload, qos=1)

    async def _follow_desired(self, mqtt: Any) -> None:
        async for message in mqtt.messages:
            key = self.topics.key_of(str(message.topic), self.topics.desired)
            if key is None:
                continue
            try:
                document = json.loads(message.payload)
                version = int(document["version"])
            except (ValueError, KeyError, TypeError):
                log.warning("%r: ignored a desired message on %s that is not the bridge's",
                            self, message.topic)
                continue
            if await self.outbox.set_desired(key, document, version):
                async with self._desired_changed:
                    self._desired_changed.notify_all()
