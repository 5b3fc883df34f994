"""`actorium edge`: reports buffered on disk while the cluster is away, replayed in order.

The agent runs as the command a user starts (a subprocess); the cluster side is a real
mosquitto and a bridge into twins. "The network is cut" by stopping the broker: the agent
cannot reach the cluster at all, exactly as with a cut link.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from typing import Any

import aiohttp
import pytest

from actorium import twins
from twins.mqtt_helpers import eventually

# While the broker or the cluster is away, the agent's reconnect delay doubles up to 30 s
# (mqtt_session.keep_connected), so a test that restores a link may wait that long for the
# next attempt: more than the suite's default 60 s per test once the outage itself counts.
pytestmark = pytest.mark.timeout(180)


@twins.twin(history=1000)
class Meter(twins.Twin):
    pass


class Edge:
    """One `actorium edge` process and an HTTP client of its local API."""

    def __init__(self, broker: twins.LocalMosquitto, queue: str, *extra: str) -> None:
        env = dict(os.environ, ACTORIUM_MQTT_PASSWORD=broker.password)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "actorium.cli", "edge", "--broker",
             f"mqtt://{broker.username}@127.0.0.1:{broker.port}", "--queue", queue,
             "--listen", "127.0.0.1:0", "--client-id", "edge-under-test", *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        found = re.search(r"listening on (http://\S+),", line)
        if found is None:
            self.process.kill()
            raise AssertionError(f"actorium edge did not start: {line!r} "
                                 f"{self.process.communicate(timeout=10)}")
        self.url = found.group(1)
        with open(queue + ".token") as file:
            self.headers = {"Authorization": f"Bearer {file.read().strip()}"}

    async def post(self, key: str, body: Any, headers: dict[str, str] | None = None
                   ) -> tuple[int, dict[str, Any]]:
        async with aiohttp.ClientSession() as session, session.post(
                f"{self.url}/devices/{key}/reported", json=body,
                headers=self.headers if headers is None else headers) as response:
            return response.status, await response.json()

    async def get(self, path: str) -> tuple[int, dict[str, Any]]:
        async with aiohttp.ClientSession() as session, session.get(
                f"{self.url}{path}", headers=self.headers) as response:
            return response.status, await response.json()

    async def status(self) -> dict[str, Any]:
        return (await self.get("/status"))[1]

    def stop(self, *, kill: bool = False) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            self.process.wait(15)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait(10)
            for stream in (self.process.stdout, self.process.stderr):
                if stream:
                    stream.close()
        assert kill or self.process.returncode == 0, self.process.returncode


def values(key: str):   # type: ignore[no-untyped-def]
    async def read() -> list[int]:
        return [change.patch["n"] for change in await Meter.get(key).history.remote()]
    return read


def test_reports_wait_on_disk_while_the_cluster_is_away_and_arrive_once_in_order(
        use_store, sqlite_url, mosquitto, tmp_path):
    use_store(sqlite_url)
    queue = str(tmp_path / "edge" / "queue.sqlite3")

    async def main() -> None:
        async with twins.MqttBridge(Meter, mosquitto.url, reconnect_delay=0.1):
            edge = Edge(mosquitto, queue)
            try:
                await eventually(lambda: _connected(edge), what="the agent connecting")
                for n in range(1, 11):
                    assert (await edge.post("m1", {"n": n}))[0] == 202
                await eventually(_equals(values("m1"), list(range(1, 11))))

                mosquitto.stop()                       # the link to the cluster is cut
                await eventually(lambda: _disconnected(edge), what="the agent noticing")
                for n in range(11, 41):
                    await edge.post("m1", {"n": n})
                    await edge.post("m2", {"n": n})
                assert (await edge.status())["queued"] == 60
                # The agent itself dies while offline: the queue is on disk.
                edge.stop(kill=True)
                edge = Edge(mosquitto, queue)
                status = await edge.status()
                assert status["queued"] == 60 and not status["connected"]
                for n in range(41, 51):
                    await edge.post("m1", {"n": n})

                mosquitto.start()                      # the link is back
                await eventually(_equals(values("m1"), list(range(1, 51))), wait=60,
                                 what="every report of m1, in order, once")
                await eventually(_equals(values("m2"), list(range(11, 41))), wait=60)
                status = await edge.status()
                assert status["queued"] == 0 and status["sent"] == 80
                assert status["expired"] == 0
            finally:
                edge.stop()
    asyncio.run(main())


def test_reports_older_than_the_ttl_are_dropped_and_counted(use_store, sqlite_url,
                                                            mosquitto, tmp_path):
    use_store(sqlite_url)
    queue = str(tmp_path / "queue.sqlite3")

    async def main() -> None:
        mosquitto.stop()
        edge = Edge(mosquitto, queue, "--ttl", "2")
        try:
            for n in (1, 2, 3):
                await edge.post("t1", {"n": n})
            # Dropped while the link is still down: an outage does not fill the disk with
            # reports too old to matter.
            await eventually(_status_is(edge, expired=3, queued=0), wait=30,
                             what="the offline sweep dropping the three old reports")
            mosquitto.start()
            async with twins.MqttBridge(Meter, mosquitto.url):
                await eventually(lambda: _connected(edge), wait=120,
                                 what="the agent reconnecting")
                for n in (4, 5):                     # fresh: they go out at once
                    await edge.post("t1", {"n": n})
                await eventually(_equals(values("t1"), [4, 5]), wait=60)
            status = await edge.status()
            assert status["expired"] == 3 and status["sent"] == 2 and status["queued"] == 0
        finally:
            edge.stop()
    asyncio.run(main())


def test_devices_read_their_desired_state_from_the_agent(use_store, sqlite_url, mosquitto,
                                                        tmp_path):
    use_store(sqlite_url)
    queue = str(tmp_path / "queue.sqlite3")

    async def main() -> None:
        async with twins.MqttBridge(Meter, mosquitto.url):
            edge = Edge(mosquitto, queue, "--device", "d1")
            try:
                await eventually(lambda: _connected(edge))
                assert (await edge.get("/devices/d1/desired"))[0] == 404
                waiting = asyncio.create_task(edge.get("/devices/d1/desired?after=0&wait=30"))
                await asyncio.sleep(0.3)
                await Meter.get("d1").desire.remote({"limit": 40})
                status, desired = await asyncio.wait_for(waiting, 40)
                assert status == 200
                assert desired == {"desired": {"limit": 40}, "delta": {"limit": 40},
                                   "version": 1}
                await edge.post("d1", {"limit": 40})   # the device applied it

                async def applied() -> bool:
                    return await Meter.get("d1").delta.remote() == {}
                await eventually(applied)
                await Meter.get("d1").desire.remote({"mode": "eco"})
                status, desired = await edge.get("/devices/d1/desired?after=1&wait=30")
                assert desired["version"] == 2 and desired["delta"] == {"mode": "eco"}
            finally:
                edge.stop()
    asyncio.run(main())


def test_the_local_api_needs_the_token_and_refuses_bad_reports(mosquitto, tmp_path):
    async def main() -> None:
        edge = Edge(mosquitto, str(tmp_path / "queue.sqlite3"))
        try:
            assert os.stat(str(tmp_path / "queue.sqlite3.token")).st_mode & 0o077 == 0
            status, body = await edge.post("k", {"n": 1}, headers={})
            assert status == 401 and "token" in body["error"]
            status, body = await edge.post("k", {"n": 1},
                                           headers={"Authorization": "Bearer wrong"})
            assert status == 401
            status, body = await edge.post("k", [1, 2])
            assert status == 400 and "dict" in body["error"]
            status, body = await edge.post("k+", {"n": 1})
            assert status == 400 and "one level" in body["error"]
            assert (await edge.status())["queued"] == 0
        finally:
            edge.stop()
    asyncio.run(main())


def test_edge_options_are_checked(tmp_path):
    for bad, message in (({"ttl": 0}, "ttl"), ({"window": 0}, "window"),
                         ({"devices": ["a/b"]}, "one level"), ({"queue": ""}, "queue")):
        options: dict[str, Any] = {"queue": str(tmp_path / "q.db"), **bad}
        with pytest.raises(ValueError, match=message):
            twins.EdgeAgent(**options)
    result = subprocess.run([sys.executable, "-m", "actorium.cli", "edge", "--queue",
                             str(tmp_path / "q.db"), "--broker", "http://x"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "scheme" in result.stderr


async def _connected(edge: Edge) -> bool:
    return bool((await edge.status())["connected"])


async def _disconnected(edge: Edge) -> bool:
    return not (await edge.status())["connected"]


def _status_is(edge: Edge, **expected: int):   # type: ignore[no-untyped-def]
    async def check() -> bool:
        status = await edge.status()
        return all(status[name] == value for name, value in expected.items())
    return check


def _equals(read, expected):   # type: ignore[no-untyped-def]
    async def check() -> bool:
        return await read() == expected
    return check
