"""The fleet API behind the dashboard: grouped counts, pages with true totals, events told in
groups with their drill-down, and the timeline of what ran where (also ``actorium.timeline``)."""

from __future__ import annotations

import json
import time

import pytest
from polling import eventually
from test_dashboard import Client

import actorium

pytestmark = pytest.mark.timeout(120)


@actorium.remote
class Twin:
    def __init__(self, serial):
        self.serial = serial

    def report(self):
        return self.serial


@actorium.remote
class Pump:
    def spin(self):
        time.sleep(0.01)
        return 1


@actorium.remote
def crunch(x):
    time.sleep(0.005)
    return x * 2


@pytest.fixture
def fleet(start_runtime):
    info = start_runtime()
    twins = [Twin.options(name=f"twin-{i:03d}").remote(i) for i in range(30)]
    pumps = [Pump.remote() for _ in range(3)]
    actorium.get([t.report.remote() for t in twins] + [p.spin.remote() for p in pumps])
    return Client(info.dashboard_url), twins, pumps


def test_actors_are_grouped_by_class_with_true_counts_per_state_and_node(fleet):
    client, twins, _pumps = fleet
    node = actorium.nodes()[0]["NodeID"]
    actorium.kill(twins[0])
    grouped = eventually(lambda: (g := client.json("/api/fleet/classes"))
                         and {c["class_name"]: c for c in g["classes"]}.get("Twin", {})
                         .get("states", {}).get("DEAD") == 1 and g)
    by_class = {c["class_name"]: c for c in grouped["classes"]}
    assert by_class["Twin"]["total"] == 30
    assert by_class["Twin"]["states"] == {"ALIVE": 29, "DEAD": 1}
    assert by_class["Twin"]["nodes"] == {node: 30}
    assert by_class["Pump"]["states"] == {"ALIVE": 3}
    assert grouped["total"] == sum(c["total"] for c in grouped["classes"])


def test_actor_pages_come_in_one_order_with_the_total_of_the_filter(fleet):
    client, twins, _pumps = fleet
    first = client.json("/api/fleet/actors?class_name=Twin&limit=7")
    assert first["total"] == 30 and len(first["rows"]) == 7
    seen = [row["actor_id"] for row in first["rows"]]
    offset = 7
    while offset < first["total"]:
        page = client.json(f"/api/fleet/actors?class_name=Twin&limit=7&offset={offset}")
        assert page["total"] == 30
        seen += [row["actor_id"] for row in page["rows"]]
        offset += 7
    assert seen == sorted(seen) and len(set(seen)) == 30
    found = client.json("/api/fleet/actors?search=twin-01&limit=3")
    assert found["total"] == 10 and len(found["rows"]) == 3   # twin-010 .. twin-019
    assert all(row["name"].startswith("twin-01") for row in found["rows"])
    assert client.json("/api/fleet/actors?state=DEAD")["total"] == 0
    assert client.json("/api/fleet/actors?node_id=00ff")["total"] == 0
    everything = client.json("/api/fleet/actors?limit=1")
    assert everything["total"] >= 33 and len(everything["rows"]) == 1


def test_bad_page_requests_get_errors_that_name_the_problem(fleet):
    client, _twins, _pumps = fleet
    for path, words in (("/api/fleet/actors?limit=0", "limit must be between"),
                        ("/api/fleet/actors?offset=x", "offset must be an integer"),
                        ("/api/fleet/actors?colour=red", "unknown parameter(s) colour"),
                        ("/api/fleet/events/drill", "kind is required"),
                        ("/api/timeline?since=soon", "since must be a number"),
                        ("/api/timeline?limit=0", "limit must be between 1 and")):
        status, _headers, body = client.request("GET", path)
        assert status == 400, path
        assert words in json.loads(body)["error"], path


def test_events_of_a_fleet_are_told_in_one_group_that_drills_down(fleet):
    client, _twins, _pumps = fleet
    groups = client.json("/api/fleet/events")
    alive = [g for g in groups if g["kind"] == "actor_alive" and g["class_name"] == "Twin"]
    assert len(alive) == 1
    assert alive[0]["count"] == 30
    assert alive[0]["message"] == "30 Twin actors became alive"
    group = alive[0]
    drilled = client.json(f"/api/fleet/events/drill?kind=actor_alive&class_name=Twin"
                          f"&since={group['first_time']}&until={group['last_time']}")
    assert len(drilled) == 30
    assert {e["class_name"] for e in drilled} == {"Twin"}
    assert len({e["actor_id"] for e in drilled}) == 30


def test_the_timeline_shows_tasks_and_calls_per_worker_in_chrome_trace_format(fleet, tmp_path):
    client, _twins, pumps = fleet
    actorium.get([crunch.remote(i) for i in range(4)] + [p.spin.remote() for p in pumps])

    def spans():
        # Workers report their calls about once a second, each on its own: wait for all of
        # them, not for the first of each kind.
        events = actorium.timeline()
        done = [e["name"] for e in events if e["ph"] == "X"]
        return (sum(n.endswith("crunch") for n in done) >= 4
                and done.count("Pump.spin") >= 6 and events)
    events = eventually(spans, timeout=30)
    complete = [e for e in events if e["ph"] == "X"]
    for event in complete:
        assert event["tid"].startswith("worker:") and event["dur"] >= 0
        assert event["cat"] == f"task::{event['name']}"
        assert {"name", "task_id"} <= set(event["args"])
    spins = [e for e in complete if e["name"] == "Pump.spin"]
    assert len(spins) >= 6 and all(e["dur"] >= 10_000 for e in spins)   # >= 10 ms, in µs
    # Each call is on the row of the worker process that hosts its actor.
    hosts = {f"worker:{row['worker_id']}"
             for row in client.json("/api/fleet/actors?class_name=Pump")["rows"]}
    assert {e["tid"] for e in spins} == hosts
    tasks = [e for e in complete if e["name"].endswith("crunch")]
    assert len(tasks) >= 4 and not {e["tid"] for e in tasks} & hosts   # tasks: task workers
    rows_named = {e["tid"] for e in events if e["ph"] == "M" and e["name"] == "thread_name"}
    assert {e["tid"] for e in complete} <= rows_named
    marks = {e["name"] for e in events if e["ph"] == "i"}
    assert {"node_started", "worker_started"} <= marks
    path = tmp_path / "trace.json"
    assert actorium.timeline(str(path)) is None
    assert any(e["name"] == "Pump.spin" for e in json.loads(path.read_text()))
    status, headers, body = client.request("GET", "/api/timeline?download=1")
    assert status == 200
    assert headers["Content-Disposition"].startswith('attachment; filename="actorium-timeline-')
    assert any(e["name"] == "Pump.spin" for e in json.loads(body))


def test_a_timeline_answer_is_bounded_to_the_latest_events(fleet):
    client, _twins, pumps = fleet
    actorium.get([p.spin.remote() for p in pumps])

    def settled():
        # Every call so far reported: the fixture's 30 reports and 3 spins, and these 3 spins.
        events = client.json("/api/timeline")
        return events if sum(e["ph"] == "X" for e in events) >= 36 else None
    everything = eventually(settled, timeout=30)
    timed = sorted((e for e in everything if e["ph"] != "M"), key=lambda e: e["ts"])
    status, headers, body = client.request("GET", "/api/timeline?limit=2")
    assert status == 200
    bounded = json.loads(body)
    assert [e for e in bounded if e["ph"] != "M"] == timed[-2:]       # the latest two
    # Every row keeps its name, and the header says how many were left out.
    assert [e for e in bounded if e["ph"] == "M"] == [e for e in everything if e["ph"] == "M"]
    assert int(headers["X-Actorium-Dropped"]) == len(timed) - 2
