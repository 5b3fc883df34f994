"""An MQTT session that acknowledges a message only once it is stored, in arrival order.

aiomqtt (2.5) acknowledges a QoS 1 message as soon as it is put on its queue, before the
application has seen it: a bridge that crashes between that acknowledgement and the twin's
commit loses the report, and the broker never sends it again. So the session here turns on
paho-mqtt's *manual acknowledgement* before connecting (aiomqtt has no option for it yet:
empicano/aiomqtt#345; the one private attribute used is ``Client._client``, the paho client)
and ``Acks`` sends each PUBACK after the bridge stored the message. MQTT 3.1.1 (4.6) asks a
receiver to acknowledge in the order the messages arrived, so a message stored early waits
for the ones that arrived before it.

The session is persistent (``clean_session=False`` with a fixed client id): while the bridge
is away, the broker keeps its subscription and queues the QoS 1 messages for it, and it sends
the unacknowledged ones again when the bridge reconnects.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from actorium._twins.broker import MqttBroker

log = logging.getLogger("actorium.twins.mqtt")


def _aiomqtt() -> Any:
    try:
        import aiomqtt
    except ImportError:
        raise ImportError("the MQTT bridge needs aiomqtt: pip install 'actorium[mqtt]'") from None
    return aiomqtt


def client(broker: MqttBroker, client_id: str, *, manual_ack: bool, keepalive: int = 30,
           clean_session: bool = False) -> Any:
    """An ``aiomqtt.Client`` for ``broker`` (not connected yet: ``async with`` it).

    ``manual_ack``: received QoS 1 messages are acknowledged by ``Acks`` only."""
    aiomqtt = _aiomqtt()
    made = aiomqtt.Client(broker.host, broker.effective_port, username=broker.username,
                          password=broker.password, identifier=client_id,
                          clean_session=clean_session, keepalive=keepalive,
                          tls_context=broker.ssl_context(), timeout=10)
    if manual_ack:
        # Before connecting: the broker resends unacknowledged messages right after CONNACK.
        made._client.manual_ack_set(True)
    return made


def errors() -> tuple[type[BaseException], ...]:
    """The exceptions that mean the connection failed (reconnect and go on)."""
    return (_aiomqtt().MqttError, OSError)


async def keep_connected(session: Callable[[], Awaitable[None]], connected: asyncio.Event,
                         first_delay: float,
                         failed: Callable[[BaseException, bool], None]) -> None:
    """Run ``session()`` (one connection) again and again, forever (cancel to stop): after
    a connection failure ``failed(error, was_connected)`` is told, and the next attempt
    waits ``first_delay`` seconds, doubling up to 30 s while the broker stays away.
    ``connected`` is cleared whenever a session ends (the session sets it)."""
    delay = first_delay
    while True:
        try:
            await session()
        except errors() as exc:
            was_connected = connected.is_set()
            failed(exc, was_connected)
            if was_connected:
                delay = first_delay
        finally:
            connected.clear()
        await asyncio.sleep(delay)
        delay = min(delay * 2, 30.0)


async def stop(task: asyncio.Task[Any] | None) -> None:
    """Cancel ``task`` (a ``keep_connected`` loop) and wait until it has ended."""
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class Acks:
    """The PUBACKs still owed on one connection, sent in the order the messages came.

    ``received(message)`` when a message arrives, ``done(message)`` once it is stored (or
    refused for good); the acknowledgements go out as soon as every earlier one can. A new
    connection gets a new ``Acks``: the broker sends what was never acknowledged again.
    """

    def __init__(self, mqtt: Any) -> None:
        self._paho = mqtt._client
        # id(message) -> [message, stored?], in arrival order
        self._owed: collections.OrderedDict[int, list[Any]] = collections.OrderedDict()
        self.sent = 0
        self.closed = False

    def close(self) -> None:
        """The connection ended: its message ids mean nothing any more (never ack them)."""
        self.closed = True
        self._owed.clear()

    def received(self, message: Any) -> None:
        if message.qos > 0:
            self._owed[id(message)] = [message, False]

    def done(self, message: Any) -> None:
        entry = self._owed.get(id(message))
        if entry is None or self.closed:
            return
        entry[1] = True
        while self._owed:
            head, stored = next(iter(self._owed.values()))
            if not stored:
                break
            self._owed.popitem(last=False)
            self._paho.ack(head.mid, head.qos)
            self.sent += 1

    def __len__(self) -> int:
        return len(self._owed)
