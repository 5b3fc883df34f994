"""util.metrics: Ray's Counter/Gauge/Histogram, recorded anywhere, served on /metrics."""

from __future__ import annotations

import json
import pickle
import re
import urllib.request

import pytest
from polling import eventually

import actorium as ray
from actorium.util import state
from actorium.util.metrics import Counter, Gauge, Histogram


def scrape() -> str:
    url = state.list_nodes()[0]["dashboard_url"]
    assert url, "the shared runtime serves a dashboard"
    with urllib.request.urlopen(url + "/metrics", timeout=10) as response:
        return response.read().decode()


def sample(text: str, series: str) -> float | None:
    """The value of one exposed series (``name{labels}``), or None if absent."""
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.split()[-1])
    return None


def eventually_sample(series: str, expected: float) -> str:
    """The exposition, once ``series`` has the ``expected`` value (reports come each second)."""
    def check() -> str | None:
        text = scrape()
        return text if sample(text, series) == expected else None

    return eventually(check, timeout=20)


# ---------------------------------------------------------------------- recorded in an actor
@ray.remote
class Service:
    def __init__(self, name):
        self.requests = Counter("svc_requests", description="Requests served.",
                                tag_keys=("service", "route"))
        self.requests.set_default_tags({"service": name})
        self.in_flight = Gauge("svc_in_flight", tag_keys=("service",)).set_default_tags(
            {"service": name})
        self.latency = Histogram("svc_latency_ms", description="Latency.",
                                 boundaries=[1, 10, 100], tag_keys=("service",))
        self.latency.set_default_tags({"service": name})

    def handle(self, route, millis, in_flight):
        self.requests.inc(tags={"route": route})
        self.in_flight.set(in_flight)
        self.latency.observe(millis)
        return route


def test_values_recorded_in_an_actor_appear_at_the_prometheus_endpoint(runtime):
    service = Service.remote("api")
    ray.get([service.handle.remote("/a", 0.5, 3), service.handle.remote("/a", 5, 2),
             service.handle.remote("/b", 50, 7), service.handle.remote("/b", 500, 1)])
    text = eventually_sample('svc_latency_ms_count{service="api"}', 4)
    assert sample(text, 'svc_requests_total{service="api",route="/a"}') == 2
    assert sample(text, 'svc_requests_total{service="api",route="/b"}') == 2
    assert sample(text, 'svc_in_flight{service="api"}') == 1
    for bound, count in (("1", 1), ("10", 2), ("100", 3), ("+Inf", 4)):
        assert sample(text, f'svc_latency_ms_bucket{{service="api",le="{bound}"}}') == count
    assert sample(text, 'svc_latency_ms_sum{service="api"}') == 555.5
    assert "# TYPE svc_requests_total counter" in text
    assert "# HELP svc_requests_total Requests served." in text
    assert "# TYPE svc_in_flight gauge" in text and "# TYPE svc_latency_ms histogram" in text
    assert "actorium_calls_total" in text      # next to the runtime's own metrics
    assert re.search(r"^actorium_workers\{", text, re.M)


@ray.remote
def count_in_task(n):
    counter = Counter("jobs_done", tag_keys=("where",))
    for _ in range(n):
        counter.inc(tags={"where": "everywhere"})
    return n


@ray.remote
class Counting:
    def count(self, n):
        counter = Counter("jobs_done", tag_keys=("where",))
        counter.inc(n, tags={"where": "everywhere"})


def test_a_counter_sums_what_the_driver_tasks_and_actors_recorded(runtime):
    Counter("jobs_done", tag_keys=("where",)).inc(5, tags={"where": "everywhere"})
    ray.get([count_in_task.remote(3) for _ in range(4)])
    ray.get(Counting.remote().count.remote(7))
    eventually_sample('jobs_done_total{where="everywhere"}', 5 + 12 + 7)


@ray.remote(num_cpus=1)
class Dedicated:
    def record(self):
        Counter("before_death").inc(3)
        Gauge("dies_with_process").set(9)


def test_what_an_exited_process_counted_is_kept_and_its_gauges_dropped(runtime):
    actor = Dedicated.remote()
    ray.get(actor.record.remote())
    eventually_sample("dies_with_process", 9)
    ray.kill(actor)
    eventually(lambda: sample(scrape(), "dies_with_process") is None, timeout=20)
    assert sample(scrape(), "before_death_total") == 3


def test_a_gauge_keeps_the_value_set_last_by_any_process(runtime):
    @ray.remote
    def set_gauge(value):
        Gauge("last_set").set(value)

    ray.get(set_gauge.remote(1))
    eventually_sample("last_set", 1)
    Gauge("last_set").set(2)     # the driver, later
    eventually_sample("last_set", 2)


def test_state_rows_and_the_dashboard_api_list_them(runtime):
    Gauge("listed_gauge", tag_keys=("k",)).set(4.5, tags={"k": "v"})
    rows = eventually(lambda: state.list_app_metrics("listed_gauge"), timeout=20)
    assert rows[0]["kind"] == "gauge" and rows[0]["value"] == 4.5
    assert rows[0]["tags"] == {"k": "v"}
    url = state.list_nodes()[0]["dashboard_url"]
    with urllib.request.urlopen(url + "/api/app_metrics?name=listed_gauge", timeout=10) as r:
        listed = json.loads(r.read())
    assert listed[0]["value"] == 4.5
    assert state.metrics_text().count("listed_gauge{") == 1


# ---------------------------------------------------------------------- the API (no runtime)
def test_tags_are_checked():
    counter = Counter("checked_tags", tag_keys=("a", "b"))
    with pytest.raises(ValueError, match="Missing value for tag key"):
        counter.inc()
    with pytest.raises(ValueError, match="Unrecognized tag key"):
        counter.inc(tags={"a": "1", "b": "2", "c": "3"})
    with pytest.raises(TypeError, match="str"):
        counter.inc(tags={"a": 1, "b": "2"})
    with pytest.raises(ValueError, match="Unrecognized tag key"):
        counter.set_default_tags({"z": "1"})
    assert counter.set_default_tags({"a": "1"}) is counter
    counter.inc(tags={"b": "2"})   # default a, given b
    assert counter.info == {"name": "checked_tags", "description": "",
                            "tag_keys": ("a", "b"), "default_tags": {"a": "1"}}


def test_bad_names_values_and_boundaries_are_refused():
    for bad in ("", "9lives", "has space", "a:b", "actorium_mine"):
        with pytest.raises(ValueError):
            Counter(bad)
    with pytest.raises(TypeError, match="tuple"):
        Counter("list_keys", tag_keys=["a"])
    with pytest.raises(ValueError, match=">0"):
        Counter("positive_only").inc(0)
    with pytest.raises(TypeError, match="int or float"):
        Counter("numbers_only").inc("1")
    with pytest.raises(ValueError, match="boundaries"):
        Histogram("no_bounds")
    with pytest.raises(ValueError, match="positive"):
        Histogram("negative_bounds", boundaries=[-1, 2])
    with pytest.raises(ValueError, match="increase"):
        Histogram("unsorted_bounds", boundaries=[5, 2])
    Gauge("none_is_nothing").set(None)
    with pytest.raises(ValueError, match="already exists as a gauge"):
        Gauge("svc_clash_name_a")
        Counter("svc_clash_name_a")


def test_metrics_pickle_with_their_default_tags():
    histogram = Histogram("pickled_hist", boundaries=[1.0], tag_keys=("t",))
    histogram.set_default_tags({"t": "x"})
    copy = pickle.loads(pickle.dumps(histogram))
    assert copy.info == histogram.info and copy.boundaries == [1.0]
    copy.observe(0.5)
