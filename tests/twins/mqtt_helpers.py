"""A private mosquitto per test, and a device that speaks MQTT to it (aiomqtt)."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from actorium._twins.mosquitto import mosquitto_bin
from actorium.twins import LocalMosquitto


def require_mosquitto() -> None:
    if mosquitto_bin() is None:
        if os.environ.get("ACTORIUM_REQUIRE_MQTT") or os.environ.get("CI"):
            pytest.fail("mosquitto is not installed, and CI must run the MQTT tests "
                        "(.ci/run installs Debian's mosquitto)")
        pytest.skip("mosquitto is not installed here (apt-get install mosquitto)")


@pytest.fixture
def mosquitto() -> Iterator[LocalMosquitto]:
    """A mosquitto of this test's own on a free loopback port (login required)."""
    require_mosquitto()
    with LocalMosquitto() as broker:
        yield broker


class Device:
    """A device (or a fleet of them) publishing reports and reading desired state."""

    def __init__(self, broker: LocalMosquitto, client_id: str = "test-device") -> None:
        import aiomqtt
        self.client = aiomqtt.Client("127.0.0.1", broker.port, username=broker.username,
                                     password=broker.password, identifier=client_id)

    async def __aenter__(self) -> Device:
        await self.client.__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.client.__aexit__(*exc)

    async def report(self, key: str, state: dict[str, Any] | str, *, seq: int | None = None
                     ) -> None:
        payload = state if isinstance(state, str) else json.dumps(
            state if seq is None else {"state": state, "seq": seq})
        await self.client.publish(f"devices/{key}/reported", payload, qos=1)

    async def collect(self, topic: str, count: int, wait: float = 30.0) -> list[Any]:
        """The next ``count`` JSON payloads on ``topic`` (subscribed here)."""
        await self.client.subscribe(topic, qos=1)
        got: list[Any] = []
        async with asyncio.timeout(wait):
            async for message in self.client.messages:
                got.append(json.loads(message.payload))
                if len(got) == count:
                    return got
        return got


async def eventually(check: Callable[[], Any], wait: float = 30.0, what: str = "") -> Any:
    """Await ``check()`` (a coroutine function) until it returns something true."""
    deadline = time.monotonic() + wait
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}: last {value!r}")
        await asyncio.sleep(0.05)
