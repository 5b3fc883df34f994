"""The runtime's own time series: bounded rings, gaps, quantiles, and the /api/series routes."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest
from polling import eventually

import actorium
from actorium._observe.timeseries import MAX_KEYS, SLOTS, STEP, Ring, SeriesStore, percentile

pytestmark = pytest.mark.timeout(120)


def test_a_ring_keeps_one_hour_and_forgets_older_ticks():
    ring = Ring()
    for tick in range(SLOTS + 10):
        ring.put(tick, float(tick))
    points = ring.points(-1, SLOTS + 9)
    assert len(points) == SLOTS
    assert points[0] == [10 * STEP, 10.0] and points[-1] == [(SLOTS + 9) * STEP, SLOTS + 9.0]


def test_a_missed_tick_reads_as_absent_not_as_an_old_value():
    ring = Ring()
    ring.put(5, 1.0)
    ring.put(5 + SLOTS + 3, 2.0)   # an hour later: the slot of tick 8 held nothing new
    assert ring.points(0, 5 + SLOTS + 3) == [[(5 + SLOTS + 3) * STEP, 2.0]]
    ring.put(1, 9.0)               # the clock went back: ignored, never mixed in
    assert [v for _, v in ring.points(0, 5 + SLOTS + 3)] == [2.0]


def test_the_store_caps_keys_per_scope_dropping_the_least_recently_written():
    store = SeriesStore()
    cap = MAX_KEYS["actor"]
    for index in range(cap + 5):
        store.put(100.0, "actor", f"a{index}", {"calls_per_s": 1.0})
    keys = store.catalog()["actor"]
    assert len(keys) == cap and "a0" not in keys and f"a{cap + 4}" in keys
    assert store.memory_bytes() == cap * SLOTS * 4
    with pytest.raises(ValueError, match="unknown series scope 'bogus'"):
        store.query("bogus", None, None, since=0, now=200)


def test_percentile_interpolates_within_the_bucket():
    bounds = (1.0, 2.0, 4.0)
    assert percentile([0, 10, 0, 0], bounds, 0.5) == pytest.approx(1.5)
    assert percentile([10, 0, 0, 0], bounds, 0.99) == pytest.approx(0.99)
    assert percentile([0, 0, 0, 5], bounds, 0.5) == 4.0      # +Inf reads as the largest bound
    assert percentile([0, 0, 0, 0], bounds, 0.5) is None


@actorium.remote
class Pump:
    def work(self):
        time.sleep(0.003)
        return 1


@actorium.remote
def square(x):
    return x * x


def _get(url):
    with urllib.request.urlopen(url, timeout=20) as response:
        return json.loads(response.read())


def _points(rows, metric):
    return [v for row in rows if row["metric"] == metric for _, v in row["points"]]


def test_the_api_serves_rates_latency_and_user_metrics_over_time(start_runtime):
    from actorium.util import metrics

    info = start_runtime()
    url = info.dashboard_url
    pumps = [Pump.remote() for _ in range(2)]
    gauge = metrics.Gauge("fleet_temperature", description="degrees", tag_keys=("site",))

    def busy_series():
        actorium.get([p.work.remote() for p in pumps for _ in range(5)])
        actorium.get([square.remote(i) for i in range(5)])
        gauge.set(21.5, tags={"site": "north"})
        rows = _get(f"{url}/api/series?scope=cluster&metric=calls_per_s,tasks_per_s,p99_ms,"
                    f"rss_bytes")
        return (any(v > 0 for v in _points(rows, "calls_per_s"))
                and any(v > 0 for v in _points(rows, "tasks_per_s"))
                and _points(rows, "p99_ms") and rows)

    rows = eventually(busy_series, timeout=30)
    assert all(v > 1_000_000 for v in _points(rows, "rss_bytes"))   # processes' memory
    pump = eventually(lambda: _get(f"{url}/api/series?scope=class&key=Pump&metric=p50_ms"
                                   f",actors_alive"), timeout=30)
    assert max(_points(pump, "actors_alive")) == 2
    assert any(v >= 2.0 for v in _points(pump, "p50_ms"))   # the calls sleep 3 ms
    one = pumps[0]._actor_id.hex()
    actor = eventually(lambda: _points(_get(f"{url}/api/series?scope=actor&key={one}"),
                                       "calls_per_s"), timeout=30)
    assert max(actor) > 0
    # The gauge is sampled every 2 s; other metrics of this process may be served first.
    eventually(lambda: 21.5 in _points(_get(f"{url}/api/series?scope=app"), "value"),
               timeout=30)
    catalog = _get(f"{url}/api/series/catalog")
    assert {"scope": "function", "key": "square"} in [
        {k: row[k] for k in ("scope", "key")} for row in catalog]
    for bad, message in (("scope=bogus", "unknown series scope"),
                         ("window=-1", "window must be positive"),
                         ("window=abc", "must be numbers"), ("colour=red", "unknown parameter")):
        with pytest.raises(urllib.error.HTTPError) as caught:
            _get(f"{url}/api/series?{bad}")
        assert caught.value.code == 400 and message in json.loads(caught.value.read())["error"]


@actorium.remote
class Holder:
    """Keeps an object it put, so its worker holds bytes the charts should show."""

    def keep(self, size):
        self.kept = actorium.put(b"x" * size)
        return size


def test_class_and_actor_series_carry_their_workers_cpu_memory_and_objects(start_runtime):
    info = start_runtime()
    url = info.dashboard_url
    holder = Holder.remote()
    actorium.get(holder.keep.remote(300_000))
    hexid = holder._actor_id.hex()

    def sampled():
        actorium.get(holder.keep.remote(300_000))   # a call each step keeps the actor sampled
        klass = _get(f"{url}/api/series?scope=class&key=Holder")
        actor = _get(f"{url}/api/series?scope=actor&key={hexid}")
        ready = (_points(klass, "object_bytes") and _points(klass, "cpu_percent")
                 and _points(actor, "object_bytes"))
        return ready and (klass, actor)

    klass, actor = eventually(sampled, timeout=40, every=0.5)
    assert max(_points(klass, "object_bytes")) >= 300_000
    assert max(_points(actor, "object_bytes")) >= 300_000
    assert min(_points(klass, "rss_bytes")) > 1_000_000        # its worker's resident memory
    assert max(_points(klass, "workers")) == 1
    assert all(v >= 0 for v in _points(klass, "cpu_percent"))
