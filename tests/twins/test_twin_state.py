"""A twin keeps desired and reported documents, versioned, with the delta, hooks and history."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

import actorium
from actorium import twins
from actorium._twins.document import delta, effective, merge
from actorium._virtual.stores import _make


@twins.twin(history=5, idle_timeout=0.3)
class Lamp(twins.Twin):
    async def on_reported(self, change: twins.TwinChange) -> None:
        # A twin reacts to its device: too hot, so it wants the lamp dimmed.
        if change.document["reported"].get("temp", 0) > 60:
            await self.desire({"brightness": 20})

    async def on_desired(self, change: twins.TwinChange) -> None:
        self.state.setdefault("seen_desired", []).append(change.version)

    async def seen(self) -> list[int]:
        return list(self.state.get("seen_desired", []))


def store_row(url: str, type_name: str, key: str):
    async def read():
        store = _make(url)
        try:
            return await store.read(type_name, key)
        finally:
            await store.close()
    return asyncio.run(read())


def test_merge_patches_and_the_delta_follow_json_merge_patch():
    doc = {"a": 1, "b": {"c": 2, "d": 3}}
    assert merge(doc, {"b": {"c": None, "e": 4}, "f": [1]}) == {"a": 1, "b": {"d": 3, "e": 4},
                                                                  "f": [1]}
    assert doc == {"a": 1, "b": {"c": 2, "d": 3}}          # not changed in place
    assert effective(doc, {"a": 1, "b": {"c": 2, "d": 4}, "x": None}) == {"b": {"d": 4}}
    assert delta({"mode": "eco", "set": {"lo": 18, "hi": 22}, "on": True},
                 {"mode": "eco", "set": {"lo": 18, "hi": 24}, "on": 1}) == \
        {"set": {"hi": 22}, "on": True}                       # True is not 1 in JSON


def test_report_and_desire_version_each_document_and_compute_the_delta(use_store, store_url):
    use_store(store_url)
    lamp = Lamp.get("lamp-1")
    assert actorium.get(lamp.report.remote({"brightness": 80, "temp": 40})) == 1
    assert actorium.get(lamp.desire.remote({"brightness": 50, "color": "warm"})) == 2
    doc = actorium.get(lamp.document.remote())
    assert doc["reported"] == {"brightness": 80, "temp": 40}
    assert doc["desired"] == {"brightness": 50, "color": "warm"}
    assert doc["delta"] == {"brightness": 50, "color": "warm"}
    assert (doc["version"], doc["reported_version"], doc["desired_version"]) == (2, 1, 1)
    # The device applies part of it: the delta shrinks to what is left.
    assert actorium.get(lamp.report.remote({"brightness": 50})) == 3
    assert actorium.get(lamp.delta.remote()) == {"color": "warm"}
    # Sending the same values again is not a change: no new version, no history entry.
    assert actorium.get(lamp.report.remote({"brightness": 50, "temp": 40})) == 3
    history = actorium.get(lamp.history.remote())
    assert [(c.version, c.part, c.patch) for c in history] == [
        (1, twins.Part.REPORTED, {"brightness": 80, "temp": 40}),
        (2, twins.Part.DESIRED, {"brightness": 50, "color": "warm"}),
        (3, twins.Part.REPORTED, {"brightness": 50})]
    assert history[-1].delta == {"color": "warm"}
    assert history[0].cursor and history[0].at <= time.time()
    # Stored in the virtual actor's row as JSON, in the same write as the history.
    row = store_row(store_url, "Lamp", "lamp-1")
    assert row.fmt == "json" and json.loads(row.data)["reported"] == {"brightness": 50,
                                                                       "temp": 40}


def test_hooks_react_to_changes_and_may_change_the_twin(use_store, sqlite_url):
    use_store(sqlite_url)
    lamp = Lamp.get("hot")
    assert actorium.get(lamp.report.remote({"temp": 75})) == 2    # the hook desired a change
    assert actorium.get(lamp.delta.remote()) == {"brightness": 20}
    assert actorium.get(lamp.seen.remote()) == [2]


def test_history_is_bounded_and_survives_passivation(use_store, store_url):
    use_store(store_url)
    lamp = Lamp.get("busy")
    for level in range(1, 9):
        assert actorium.get(lamp.report.remote({"brightness": level})) == level
    history = actorium.get(lamp.history.remote())
    assert [c.version for c in history] == [4, 5, 6, 7, 8]          # the last 5 only
    assert [c.version for c in actorium.get(lamp.history.remote(6))] == [7, 8]
    # Passivated (idle 0.3 s), reactivated with its documents and history.
    deadline = time.monotonic() + 30
    while actorium.util.state.summarize_virtual_actors()["passivations_total"] == 0:
        assert time.monotonic() < deadline, "the twin was never passivated"
        time.sleep(0.05)
    assert actorium.get(lamp.document.remote())["reported"] == {"brightness": 8}
    assert actorium.get(lamp.report.remote({"brightness": 9})) == 9
    assert [c.version for c in actorium.get(lamp.history.remote())] == [5, 6, 7, 8, 9]


def test_a_device_resend_with_an_old_seq_is_not_applied_twice(use_store, sqlite_url):
    use_store(sqlite_url)
    lamp = Lamp.get("resend")
    assert actorium.get(lamp.report.remote({"count": 1}, seq=1)) == 1
    assert actorium.get(lamp.report.remote({"count": 2}, seq=2)) == 2
    assert actorium.get(lamp.report.remote({"count": 1}, seq=1)) == 2     # a late duplicate
    assert actorium.get(lamp.document.remote())["reported"] == {"count": 2}


def test_links_are_part_of_the_document(use_store, sqlite_url):
    use_store(sqlite_url)
    lamp = Lamp.get("linked")
    actorium.get(lamp.link.remote("site", "lyon"))
    actorium.get(lamp.link.remote("gateway", "gw-1"))
    actorium.get(lamp.link.remote("gateway", None))
    assert actorium.get(lamp.document.remote())["links"] == {"site": "lyon"}


def test_bad_patches_and_options_are_clear_errors(use_store, sqlite_url):
    use_store(sqlite_url)
    lamp = Lamp.get("strict")
    with pytest.raises(TypeError, match="a patch is a dict"):
        actorium.get(lamp.report.remote([1, 2]))
    with pytest.raises(ValueError, match=r"report\(\)\.when: datetime"):
        import datetime
        actorium.get(lamp.report.remote({"when": datetime.datetime.now()}))
    with pytest.raises(ValueError, match="not a JSON number"):
        actorium.get(lamp.desire.remote({"x": float("nan")}))
    with pytest.raises(ValueError, match="segment 'a b'"):
        actorium.get(lamp.link.remote("a b", "k"))
    assert actorium.get(lamp.document.remote())["version"] == 0     # nothing was stored
    with pytest.raises(ValueError, match="history must be a positive int"):
        twins.twin(history=0)
    with pytest.raises(TypeError, match="state_format is not an option"):
        twins.twin(state_format="pickle")
    with pytest.raises(TypeError, match="subclass of actorium.twins.Twin"):
        twins.twin(type("Plain", (actorium.VirtualActor,), {}))
    assert "on_reported" not in Lamp._methods and "report" in Lamp._methods
