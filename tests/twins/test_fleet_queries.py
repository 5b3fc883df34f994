"""Fleet queries read the twin index in the store (sqlite JSON, PostgreSQL JSONB) and follow
relationships, without calling any twin."""

from __future__ import annotations

import asyncio

import pytest

import actorium
from actorium import twins
from actorium.exceptions import BlockingCallInLoopError
from actorium.twins import Field, related


@twins.twin(idle_timeout=60)
class Sensor(twins.Twin):
    async def calls(self) -> int:
        self.state["calls"] = self.state.get("calls", 0) + 1
        return int(self.state["calls"])


@twins.twin(idle_timeout=60)
class Gateway(twins.Twin):
    pass


@twins.twin(idle_timeout=60)
class Site(twins.Twin):
    pass


def _fleet() -> None:
    actorium.get([Site.get(name).report.remote({"country": country})
                  for name, country in (("lyon", "fr"), ("turin", "it"))])
    actorium.get([Gateway.get("gw-1").link.remote("site", "lyon"),
                  Gateway.get("gw-2").link.remote("site", "turin"),
                  Gateway.get("gw-1").report.remote({"online": True}),
                  Gateway.get("gw-2").report.remote({"online": False})])
    calls = []
    for n in range(12):
        sensor = Sensor.get(f"s{n:02d}")
        calls.append(sensor.report.remote({"temp": 15 + n, "model": "a" if n % 2 else "b",
                                           "label": str(n)}))
        calls.append(sensor.link.remote("gateway", "gw-1" if n < 8 else "gw-2"))
    actorium.get(calls)
    actorium.get(Sensor.get("s03").desire.remote({"temp": 21}))
    actorium.get(Sensor.get("s05").report.remote({"ok": True, "count": 1}))


def keys(records) -> list[str]:
    return [record.key for record in records]


def test_queries_compare_range_in_and_or_over_the_fleet(use_store, store_url):
    use_store(store_url)
    _fleet()
    temp = Field("reported.temp")
    assert keys(twins.query(Sensor, temp > 24)) == ["s10", "s11"]
    assert keys(twins.query(Sensor, temp.between(16, 18))) == ["s01", "s02", "s03"]
    assert keys(twins.query(Sensor, (temp < 17) | (temp >= 26))) == ["s00", "s01", "s11"]
    assert keys(twins.query(Sensor, Field("reported.model").isin(["a"]) & (temp <= 18))) == \
        ["s01", "s03"]
    assert keys(twins.query(Sensor, Field("reported.label") == "7")) == ["s07"]
    assert keys(twins.query(Sensor, Field("reported.ok") == True)) == ["s05"]  # noqa: E712
    assert keys(twins.query(Sensor, Field("reported.count") == True)) == []  # noqa: E712
    # Typed as in JSON: the string "7" is no number, so > 0 never matches it.
    assert keys(twins.query(Sensor, Field("reported.label") > 0)) == []
    assert keys(twins.query(Sensor, Field("delta.temp").exists())) == ["s03"]
    assert twins.count(Sensor, ~Field("reported.ok").exists()) == 11
    assert twins.count(Sensor, Field("reported.ok") != True) == 11  # noqa: E712
    assert twins.count(Sensor) == 12 and twins.count("Gateway") == 2
    top = twins.query(Sensor, order_by="-reported.temp", limit=2)
    assert keys(top) == ["s11", "s10"] and top[0].document["reported"]["temp"] == 26
    assert keys(twins.query(Sensor, limit=3, offset=10)) == ["s10", "s11"]


def test_queries_follow_relationships_across_types(use_store, store_url):
    use_store(store_url)
    _fleet()
    offline = related("gateway", Field("reported.online") == False, of=Gateway)  # noqa: E712
    assert keys(twins.query(Sensor, offline)) == ["s08", "s09", "s10", "s11"]
    in_france = related("gateway", related("site", Field("reported.country") == "fr",
                                           of=Site), of="Gateway")
    assert twins.count(Sensor, in_france) == 8
    assert keys(twins.query(Sensor, in_france & (Field("reported.temp") > 21))) == ["s07"]
    assert keys(twins.query(Gateway, Field("links.site") == "turin")) == ["gw-2"]


def test_a_query_calls_no_twin(use_store, sqlite_url):
    use_store(sqlite_url)
    _fleet()
    before = actorium.get(Sensor.get("s00").calls.remote())
    assert twins.count(Sensor, Field("reported.temp") > 0) == 12
    assert actorium.get(Sensor.get("s00").calls.remote()) == before + 1


def test_async_queries_from_an_asyncio_app_and_the_blocking_form_refuses_a_loop(
        use_store, sqlite_url):
    use_store(sqlite_url)
    _fleet()

    async def app() -> tuple[list[str], int]:
        with pytest.raises(BlockingCallInLoopError):
            twins.query(Sensor)
        found = await twins.query_async(Sensor, Field("reported.temp") >= 25)
        return keys(found), await twins.count_async(Gateway)
    assert asyncio.run(app()) == (["s10", "s11"], 2)


def test_bad_queries_are_clear_errors(no_runtime):
    with pytest.raises(TypeError, match="no truth value"):
        bool(Field("reported.a") > 1)
    with pytest.raises(TypeError, match="booleans are compared with == and != only"):
        _ = Field("reported.a") > True
    with pytest.raises(TypeError, match="exists"):
        _ = Field("reported.a") == None  # noqa: E711
    with pytest.raises(ValueError, match="segment 'b c'"):
        Field("reported.b c")
    with pytest.raises(ValueError, match="at least one value"):
        Field("reported.a").isin([])
    with pytest.raises(TypeError, match="twin type"):
        twins.query(42)
    with pytest.raises(ValueError, match="limit must be an int >= 1"):
        twins.query(Sensor, limit=0)
    with pytest.raises(TypeError, match="of= is a twin type"):
        related("gateway", of=None)
