"""The node's merge of application metrics (``_observe.app_metrics``), without processes."""

from __future__ import annotations

from actorium._observe.app_metrics import NodeAppMetrics, ProcessMetrics, render_rows
from actorium._observe.metrics import PrometheusText


def snapshot(record):
    process = ProcessMetrics()
    process.declare("hits", "counter", "Hits.", ("route",))
    process.declare("level", "gauge", "", ())
    process.declare("took", "histogram", "", (), [1.0, 10.0])
    record(process)
    return process.snapshot()


def test_counters_and_histograms_add_up_and_survive_their_process():
    node = NodeAppMetrics()
    node.ingest(b"a", snapshot(lambda p: (p.record("hits", ("/",), 2), p.record("took", (), 0.5),
                                          p.record("level", (), 7))))
    node.ingest(b"b", snapshot(lambda p: (p.record("hits", ("/",), 3),
                                          p.record("took", (), 5.0))))
    rows = {row["name"]: row for row in node.rows()}
    assert rows["hits"]["value"] == 5 and rows["took"]["buckets"] == [1, 1, 0]
    node.process_gone(b"a")
    rows = {row["name"]: row for row in node.rows()}
    assert rows["hits"]["value"] == 5 and rows["took"]["count"] == 2
    assert "level" not in rows                                  # the gauge went with a


def test_a_late_report_of_a_gone_process_is_not_counted_twice():
    node = NodeAppMetrics()
    report = snapshot(lambda p: p.record("hits", ("/",), 4))
    node.ingest(b"a", report)
    node.process_gone(b"a")
    node.ingest(b"a", report)
    assert [row["value"] for row in node.rows() if row["name"] == "hits"] == [4]


def test_the_latest_gauge_wins_and_rows_of_several_nodes_merge():
    node = NodeAppMetrics()
    node.ingest(b"a", snapshot(lambda p: (p.record("level", (), 1), p.record("took", (), 50))))
    node.ingest(b"b", snapshot(lambda p: (p.record("level", (), 2), p.record("hits", ("/",), 1))))
    assert [row["value"] for row in node.rows() if row["name"] == "level"] == [2]
    out = PrometheusText()
    render_rows(out, node.rows() + node.rows())          # the same rows from two nodes
    text = out.text()
    assert "level 2" in text and "# TYPE hits_total counter" in text
    assert 'hits_total{route="/"} 2' in text                  # summed over the two nodes
    assert 'took_bucket{le="10.0"} 0' in text and 'took_bucket{le="+Inf"} 2' in text


def test_a_family_declared_differently_elsewhere_is_left_out_not_mixed():
    node = NodeAppMetrics()
    node.ingest(b"a", snapshot(lambda p: p.record("hits", ("/",), 1)))
    other = ProcessMetrics()
    other.declare("hits", "gauge", "", ())
    other.record("hits", (), 9)
    node.ingest(b"b", other.snapshot())
    assert [row["value"] for row in node.rows() if row["name"] == "hits"] == [1]
    assert node.conflicts == {"hits"}


def test_a_snapshot_is_sent_only_when_something_changed():
    process = ProcessMetrics()
    process.declare("hits", "counter", "", ())
    assert process.snapshot() is not None
    assert process.snapshot() is None
    process.record("hits", (), 1)
    assert process.snapshot()[0][5] == [[[], 1]]
