"""Events folded into groups: one line per burst of a kind and class, with true counts."""

from __future__ import annotations

from actorium._observe.event_groups import GROUP_SECONDS
from actorium._observe.events import EVENT_RING, EventLog


def _record(log, kind, class_name, when, monkeypatch):
    monkeypatch.setattr("actorium._observe.events.time.time", lambda: when)
    log.record(kind, f"actor {class_name}(x) {kind}", actor_id="ab", class_name=class_name)


def test_a_burst_of_one_kind_and_class_is_one_group_with_a_sentence(monkeypatch):
    log = EventLog()
    for i in range(300):
        _record(log, "actor_alive", "Twin", 1000.0 + i * 0.01, monkeypatch)
    _record(log, "actor_alive", "Pump", 1001.0, monkeypatch)
    groups = log.groups.recent()
    assert [(g["class_name"], g["count"]) for g in groups] == [("Twin", 300), ("Pump", 1)]
    assert groups[0]["message"] == "300 Twin actors became alive"
    assert groups[1]["message"] == "actor Pump(x) actor_alive"   # one event: its own words
    assert groups[0]["first_seq"] == 1 and groups[0]["last_seq"] == 300


def test_a_pause_longer_than_the_window_opens_a_new_group(monkeypatch):
    log = EventLog()
    _record(log, "actor_died", "Twin", 1000.0, monkeypatch)
    _record(log, "actor_died", "Twin", 1000.0 + GROUP_SECONDS / 2, monkeypatch)
    _record(log, "actor_died", "Twin", 1000.0 + GROUP_SECONDS * 2, monkeypatch)
    assert [g["count"] for g in log.groups.recent()] == [2, 1]
    assert log.groups.recent(after=1)[0]["count"] == 1


def test_counts_stay_true_when_the_events_ring_has_dropped_the_events(monkeypatch):
    log = EventLog()
    for i in range(EVENT_RING + 500):
        _record(log, "actor_created", "Twin", 1000.0 + i * 0.001, monkeypatch)
    assert len(log.ring) == EVENT_RING
    (group,) = log.groups.recent()
    assert group["count"] == EVENT_RING + 500
    assert group["message"] == f"{EVENT_RING + 500} Twin actors were created"


def test_events_filter_by_kind_class_and_time_for_the_drill_down(monkeypatch):
    log = EventLog()
    _record(log, "actor_alive", "Twin", 10.0, monkeypatch)
    _record(log, "actor_alive", "Pump", 11.0, monkeypatch)
    _record(log, "actor_died", "Twin", 12.0, monkeypatch)
    assert [e["time"] for e in log.recent(kind="actor_alive", class_name="Twin")] == [10.0]
    assert [e["time"] for e in log.recent(since=11.0, until=11.5)] == [11.0]
