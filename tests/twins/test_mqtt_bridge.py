"""The MQTT bridge against a real mosquitto: reports in, desired state out, nothing lost."""

from __future__ import annotations

import asyncio
import os

import pytest

import actorium
from actorium import twins
from actorium._twins.bridge import parse_report
from actorium.exceptions import StateStoreError
from twins.mqtt_helpers import Device, eventually

HOLD = "ACTORIUM_TEST_HOLD_FILE"


@twins.twin(history=1000)
class Sensor(twins.Twin):
    async def on_reported(self, change: twins.TwinChange) -> None:
        if change.document["reported"].get("temp", 0) > 30:
            await self.desire({"fan": "on"})


@twins.twin(history=1000)
class Fragile(twins.Twin):
    """Its store 'fails' while the file named by $ACTORIUM_TEST_HOLD_FILE exists."""

    async def report(self, patch, *, seq=None):   # type: ignore[no-untyped-def]
        hold = os.environ.get(HOLD)
        if hold and os.path.exists(hold):  # noqa: ASYNC240 - a test switch, one stat
            raise StateStoreError("test: the state store is down")
        return await super().report(patch, seq=seq)


def reported(twin_type, key):   # type: ignore[no-untyped-def]
    async def read():   # type: ignore[no-untyped-def]
        return (await twin_type.get(key).document.remote())["reported"]
    return read


def test_reports_reach_their_twins_and_desired_changes_go_back(use_store, sqlite_url,
                                                               mosquitto):
    use_store(sqlite_url)

    async def main() -> None:
        async with twins.MqttBridge(Sensor, mosquitto.url) as bridge, \
                Device(mosquitto) as device, Device(mosquitto, "watcher") as watcher:
            desired = asyncio.create_task(watcher.collect("devices/s2/desired", 1))
            await asyncio.sleep(0.3)
            await device.report("s1", {"temp": 21.5, "mode": "eco"})
            await device.report("s2", {"temp": 35.0})
            assert await eventually(reported(Sensor, "s1")) == {"temp": 21.5, "mode": "eco"}
            # s2's hook desired the fan on: the bridge publishes it (retained) with the delta.
            [message] = await asyncio.wait_for(desired, 30)
            assert message["desired"] == {"fan": "on"}
            assert message["delta"] == {"fan": "on"}
            assert message["version"] == 1
            # A device that subscribes later still gets it: the message is retained.
            async with Device(mosquitto, "late") as late:
                [again] = await late.collect("devices/s2/desired", 1)
            assert again == message
            assert bridge.stats.applied == 2 and bridge.stats.rejected == 0
            assert bridge.stats.acked == 2
    asyncio.run(main())


def test_a_report_is_acknowledged_only_once_its_twin_stored_it(use_store, sqlite_url,
                                                               mosquitto, tmp_path, monkeypatch):
    # aiomqtt acknowledges on receipt; a bridge that died before storing would lose the
    # report. Here the store fails, the bridge dies, and the broker sends it again.
    hold = tmp_path / "store-down"
    hold.touch()
    monkeypatch.setenv(HOLD, str(hold))
    use_store(sqlite_url)

    async def main() -> None:
        first = twins.MqttBridge(Fragile, mosquitto.url, client_id="bridge-f")
        async with first, Device(mosquitto) as device:
            await device.report("f1", {"level": 7})

            async def retried() -> bool:
                return first.stats.retries >= 2
            await eventually(retried, what="the bridge retrying the failed store")
            assert first.stats.acked == 0 and first.stats.applied == 0
        # The bridge is gone (as after a crash); the store is back.
        hold.unlink()
        second = twins.MqttBridge(Fragile, mosquitto.url, client_id="bridge-f")
        async with second:
            assert await eventually(reported(Fragile, "f1")) == {"level": 7}

            # The first bridge's last try was already sent to the twin and may be what stored
            # the report: the second one applies the broker's redelivery too, then acks it.
            async def stored_and_acked() -> bool:
                return second.stats.applied == 1 and second.stats.acked == 1
            await eventually(stored_and_acked, what="the second bridge storing and acking")
    asyncio.run(main())


def test_a_broker_restart_loses_no_acknowledged_report(use_store, sqlite_url, mosquitto):
    use_store(sqlite_url)

    async def main() -> None:
        async with twins.MqttBridge(Sensor, mosquitto.url, reconnect_delay=0.1) as bridge:
            async with Device(mosquitto) as device:
                for n in range(1, 6):
                    await device.report("r1", {"n": n}, seq=n)
            await eventually(has(5), what="the first five reports")
            # Restart the broker under the bridge: it reconnects by itself.
            mosquitto.stop()
            await eventually(_not(bridge.connected), what="the bridge noticing")
            mosquitto.start()
            await asyncio.wait_for(bridge.connected.wait(), 30)
            async with Device(mosquitto) as device:
                for n in range(6, 11):
                    await device.report("r1", {"n": n}, seq=n)
            await eventually(has(10), what="the reports after the restart")
        # Reports acknowledged by the broker while no bridge runs, then a broker restart.
        async with Device(mosquitto) as device:
            for n in range(11, 31):
                await device.report("r1", {"n": n}, seq=n)
        mosquitto.stop()
        mosquitto.start()
        async with twins.MqttBridge(Sensor, mosquitto.url):
            await eventually(has(30), what="the reports queued over the restart")
        history = await Sensor.get("r1").history.remote()
        assert [change.patch["n"] for change in history] == list(range(1, 31))
        assert bridge.stats.connections == 2
    asyncio.run(main())


def has(n: int):   # type: ignore[no-untyped-def]
    async def check() -> bool:
        return (await reported(Sensor, "r1")()).get("n") == n
    return check


def _not(event: asyncio.Event):   # type: ignore[no-untyped-def]
    async def check() -> bool:
        return not event.is_set()
    return check


def test_a_restarted_bridge_publishes_each_desired_change_once(use_store, sqlite_url,
                                                               mosquitto):
    # The bridge keeps its position in the journal: after a restart it publishes what was
    # desired while it was away, and not again what it had published before.
    use_store(sqlite_url)

    async def main() -> None:
        valve = Sensor.get("valve")
        async with twins.MqttBridge(Sensor, mosquitto.url, client_id="bridge-pos") as first:
            await valve.desire.remote({"open": True})

            async def one() -> bool:
                return first.stats.desired_published == 1
            await eventually(one, what="the first desired change published")
        await valve.desire.remote({"open": False})      # while no bridge runs
        async with Device(mosquitto, "valve-dev") as device:
            async with twins.MqttBridge(Sensor, mosquitto.url, client_id="bridge-pos") as second:
                [message] = await device.collect("devices/valve/desired", 1)
                # A retained message could be the old one: wait for the new version.
                if message["version"] != 2:
                    [message] = await device.collect("devices/valve/desired", 1)
                assert message["desired"] == {"open": False} and message["version"] == 2
                await asyncio.sleep(0.5)
                assert second.stats.desired_published == 1   # not the first change again
    asyncio.run(main())


def test_the_broker_login_is_checked(use_store, sqlite_url, mosquitto):
    use_store(sqlite_url)
    wrong = f"mqtt://{mosquitto.username}:not-the-password@127.0.0.1:{mosquitto.port}"

    async def main() -> None:
        with pytest.raises(ConnectionError, match="(?i)not authori"):
            async with twins.MqttBridge(Sensor, wrong, reconnect_delay=0.1):
                pass
        with pytest.raises(ConnectionError, match="(?i)not authori"):
            async with twins.MqttBridge(Sensor, f"mqtt://127.0.0.1:{mosquitto.port}",
                                        reconnect_delay=0.1):
                pass
    asyncio.run(main())


def test_a_report_that_cannot_be_applied_is_answered_and_does_not_block(use_store, sqlite_url,
                                                                         mosquitto):
    use_store(sqlite_url)

    async def main() -> None:
        async with twins.MqttBridge(Sensor, mosquitto.url) as bridge, \
                Device(mosquitto) as device, Device(mosquitto, "listener") as listener:
            answers = asyncio.create_task(listener.collect("devices/bad/rejected", 3))
            await asyncio.sleep(0.3)
            await device.report("bad", "{not json")
            await device.report("bad", "[1, 2]")
            await device.report("bad", '{"temp": NaN}')
            await device.report("bad", {"temp": 20})
            assert await eventually(reported(Sensor, "bad")) == {"temp": 20}
            errors = [answer["error"] for answer in await asyncio.wait_for(answers, 30)]
            assert "not JSON" in errors[0]
            assert "JSON object" in errors[1]
            assert "NaN" in errors[2] or "nan" in errors[2]
            assert bridge.stats.rejected == 3 and bridge.stats.acked == 4
    asyncio.run(main())


def test_a_device_sequence_number_makes_a_resend_a_no_op(use_store, sqlite_url, mosquitto):
    use_store(sqlite_url)

    async def main() -> None:
        async with twins.MqttBridge(Sensor, mosquitto.url) as bridge, \
                Device(mosquitto) as device:
            for seq, value in ((1, 1), (2, 2), (2, 99), (1, 98), (3, 3)):
                await device.report("q", {"v": value}, seq=seq)

            async def three() -> bool:
                return bridge.stats.applied == 5
            await eventually(three)
            history = await Sensor.get("q").history.remote()
            assert [change.patch for change in history] == [{"v": 1}, {"v": 2}, {"v": 3}]
    asyncio.run(main())


def test_payloads_and_settings_are_checked():
    assert parse_report(b'{"temp": 1}') == ({"temp": 1}, None)
    assert parse_report(b'{"state": {"temp": 1}, "seq": 4}') == ({"temp": 1}, 4)
    # A device state that has a field named "state" among others is the state itself.
    assert parse_report(b'{"state": "on", "x": 1}') == ({"state": "on", "x": 1}, None)
    for bad, why in ((b"\xff", "UTF-8"), (b"3", "JSON object"),
                     (b'{"state": {}, "seq": "x"}', "seq")):
        with pytest.raises(ValueError, match=why):
            parse_report(bad)
    broker = twins.MqttBroker.from_url("mqtts://dev%40site:s3cret@broker.example:8884")
    assert (broker.username, broker.password, broker.tls, broker.port) == \
        ("dev@site", "s3cret", True, 8884)
    assert "s3cret" not in repr(broker) and "s3cret" not in broker.describe()
    assert twins.MqttBroker().describe() == "mqtt://127.0.0.1:1883"   # loopback by default
    with pytest.raises(ValueError, match="scheme"):
        twins.MqttBroker.from_url("http://broker")
    with pytest.raises(ValueError, match="needs a username"):
        twins.MqttBroker(password="x")
    with pytest.raises(ValueError, match="TLS"):
        twins.MqttBroker(ca_file=__file__)
    topics = twins.Topics(reported="site/a/{key}/state")
    assert topics.subscription() == "site/a/+/state"
    assert topics.key_of("site/a/dev-9/state") == "dev-9"
    assert topics.key_of("site/b/dev-9/state") is None
    for bad in ("devices/{key}x/reported", "devices/+/{key}", "devices/reported"):
        with pytest.raises(ValueError):
            twins.Topics(reported=bad)
    with pytest.raises(ValueError, match="concurrency"):
        twins.MqttBridge(Sensor, concurrency=0)
    with pytest.raises(TypeError, match="twin class"):
        twins.MqttBridge("Sensor")
    assert actorium.twins.MqttBridge is twins.MqttBridge
