"""What the twin tables keep: field indexes for queries, nothing of a cleared twin, the
history bound, a bridge's position in the journal."""

from __future__ import annotations

import sqlite3

import actorium
from actorium import twins
from actorium.twins import Field


@twins.twin(history=2, idle_timeout=60)
class Probe(twins.Twin):
    async def wipe(self) -> None:
        await self.clear_state()


def test_a_queried_field_gets_an_index_that_the_query_uses(use_store, sqlite_url):
    use_store(sqlite_url)
    for n in range(5):
        actorium.get(Probe.get(f"p{n}").report.remote({"temp": 20 + n, "site": "a"}))
    hot = Field("reported.temp") > 22
    assert [r.key for r in twins.query(Probe, hot)] == ["p3", "p4"]
    assert twins.count(Probe, Field("reported.site") == "a") == 5
    db = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"))
    try:
        indexed = {row[0] for row in db.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'twin_index' "
            "AND name LIKE 'twin_index_f_%'")}
        assert any('"reported"."temp"' in sql for sql in indexed), indexed
        assert any('"reported"."site"' in sql for sql in indexed), indexed
        # The planner uses it for the compiled condition (not a scan of the table).
        from actorium._twins.query import _Sql, compile_where
        out = _Sql("sqlite", ["Probe"])
        where = compile_where(hot, out, "doc")
        plan = " ".join(str(row[-1]) for row in db.execute(
            f"EXPLAIN QUERY PLAN SELECT key FROM twin_index WHERE type_name = ? AND {where}",
            out.params))
        assert "twin_index_f_" in plan, plan
    finally:
        db.close()


def test_clearing_a_twin_removes_it_from_queries_and_its_history(use_store, store_url):
    use_store(store_url)
    probe = Probe.get("gone")
    actorium.get(probe.report.remote({"temp": 50}))
    actorium.get(Probe.get("stays").report.remote({"temp": 51}))
    assert twins.count(Probe, Field("reported.temp") > 40) == 2
    actorium.get(probe.wipe.remote())
    assert [r.key for r in twins.query(Probe, Field("reported.temp") > 40)] == ["stays"]
    assert actorium.get(probe.history.remote()) == []
    assert actorium.get(probe.document.remote())["version"] == 0
    # It starts again from nothing, and is found again once it reports.
    assert actorium.get(probe.report.remote({"temp": 45})) == 1
    assert twins.count(Probe, Field("reported.temp") > 40) == 2


def test_history_returns_the_last_changes_it_keeps(use_store, store_url):
    use_store(store_url)
    probe = Probe.get("h")
    for n in range(1, 6):
        actorium.get(probe.report.remote({"n": n}))
    assert [c.version for c in actorium.get(probe.history.remote())] == [4, 5]
    assert [c.version for c in actorium.get(probe.history.remote(4))] == [5]
    assert [c.version for c in actorium.get(probe.history.remote(0, 1))] == [4]
