"""Watching one twin or a fleet query with async for; late subscribers resume."""

from __future__ import annotations

import asyncio
import contextlib

import actorium
from actorium import twins
from actorium.twins import Field


@twins.twin(idle_timeout=60)
class Meter(twins.Twin):
    pass


def test_a_watch_sees_one_twins_changes_and_a_late_one_resumes(use_store, store_url):
    use_store(store_url)
    meter = Meter.get("m1")
    actorium.get(meter.report.remote({"kwh": 1}))

    async def app() -> tuple[list[int], list[int], list[str]]:
        seen: list[int] = []

        async def follow() -> None:
            async with contextlib.aclosing(twins.watch(Meter, "m1")) as changes:
                async for change in changes:
                    seen.append(change.document["reported"]["kwh"])
                    if len(seen) == 3:
                        return
        task = asyncio.create_task(follow())
        await asyncio.sleep(0.5)
        for kwh in (2, 3, 4):
            await meter.report.remote({"kwh": kwh})
        await asyncio.wait_for(task, 60)
        late = []
        async with contextlib.aclosing(twins.watch(Meter, "m1", since_version=2)) as changes:
            async for change in changes:
                late.append(change.version)
                if change.version == 4:
                    break
        fleet = []
        async with contextlib.aclosing(twins.watch(
                Meter, where=Field("reported.kwh") >= 10, since="")) as changes:
            async for change in changes:
                fleet.append(change.key)
                break
        return seen, late, fleet

    async def more() -> None:
        await Meter.get("m2").report.remote({"kwh": 5})
        await Meter.get("m3").report.remote({"kwh": 12})
    asyncio.run(more())
    seen, late, fleet = asyncio.run(app())
    assert seen == [2, 3, 4]          # after the watch began, in order
    assert late == [3, 4]             # resumed after version 2
    assert fleet == ["m3"]            # only the change that matched the query


async def _until(task_done: asyncio.Task, wait: float = 60) -> None:
    await asyncio.wait_for(task_done, wait)


def test_a_fleet_watch_sees_a_twin_leave_its_query_and_come_back(use_store, store_url):
    use_store(store_url)

    async def app() -> list[tuple[str, int, bool]]:
        seen: list[tuple[str, int, bool]] = []
        hot = Field("reported.kwh") >= 10

        async def follow() -> None:
            async with contextlib.aclosing(twins.watch(Meter, where=hot, since="")) as changes:
                async for change in changes:
                    seen.append((change.key, change.document["reported"]["kwh"], change.left))
                    if len(seen) == 4:
                        return
        task = asyncio.create_task(follow())
        meter = Meter.get("leaver")
        for kwh in (3, 12, 14, 5, 4, 11):   # in at 12, out at 5 (4: still out), in at 11
            await meter.report.remote({"kwh": kwh})
        await Meter.get("never").report.remote({"kwh": 1})
        await asyncio.wait_for(task, 60)
        return seen

    assert asyncio.run(app()) == [("leaver", 12, False), ("leaver", 14, False),
                                  ("leaver", 5, True), ("leaver", 11, False)]


def test_a_late_watcher_pages_through_the_history_then_goes_on_live(use_store, sqlite_url,
                                                                    monkeypatch):
    from actorium._twins import watch as watch_module
    monkeypatch.setattr(watch_module, "_BATCH", 3)   # pages of 3: the history takes several
    use_store(sqlite_url)
    meter = Meter.get("pager")
    for kwh in range(1, 11):
        actorium.get(meter.report.remote({"kwh": kwh}))

    async def app() -> list[int]:
        versions: list[int] = []
        async with contextlib.aclosing(twins.watch(Meter, "pager", since_version=2)) as changes:
            async for change in changes:
                versions.append(change.version)
                if change.version == 10:   # the history is read: now a live change
                    await meter.report.remote({"kwh": 99})
                if change.version == 11:
                    break
        return versions

    assert asyncio.run(app()) == list(range(3, 12))


def test_a_waiting_watch_does_not_read_the_store_until_a_change_comes(use_store, sqlite_url,
                                                                     monkeypatch):
    from actorium._twins.stores.sqlite import SqliteTwinStore
    reads = []
    journal = SqliteTwinStore.journal
    reading = asyncio.Event()

    async def counted(self, *args, **kwargs):   # type: ignore[no-untyped-def]
        reads.append(1)
        reading.set()
        return await journal(self, *args, **kwargs)
    monkeypatch.setattr(SqliteTwinStore, "journal", counted)
    use_store(sqlite_url)
    meter = Meter.get("quiet")
    actorium.get(meter.report.remote({"kwh": 1}))

    async def app() -> tuple[int, int, int]:
        got: list[int] = []
        first = asyncio.Event()

        async def follow() -> None:
            async with contextlib.aclosing(twins.watch(Meter, "quiet")) as changes:
                async for change in changes:
                    got.append(change.version)
                    first.set()
                    if len(got) == 2:
                        return
        task = asyncio.create_task(follow())
        await asyncio.wait_for(reading.wait(), 60)
        await meter.report.remote({"kwh": 2})    # a change in another process wakes it
        await asyncio.wait_for(first.wait(), 60)
        before = len(reads)
        await asyncio.sleep(1.5)                  # idle: a poller would read ~15 times here
        idle = len(reads) - before
        await meter.report.remote({"kwh": 3})
        await asyncio.wait_for(task, 60)
        return idle, got[0], got[1]

    idle, first_version, second_version = asyncio.run(app())
    assert idle == 0
    assert (first_version, second_version) == (2, 3)


def test_watches_of_many_twins_share_one_store_connection(use_store, sqlite_url):
    import psutil

    from actorium._twins import stores
    use_store(sqlite_url)
    path = sqlite_url.removeprefix("sqlite:///")
    keys = [f"share-{n}" for n in range(20)]

    async def app() -> tuple[int, int, int]:
        started = 0
        ready = asyncio.Event()

        async def follow(key: str) -> None:
            nonlocal started
            async with contextlib.aclosing(twins.watch(Meter, key)) as changes:
                started += 1
                if started == len(keys):
                    ready.set()
                async for _change in changes:
                    return
        tasks = [asyncio.create_task(follow(key)) for key in keys]
        await asyncio.wait_for(ready.wait(), 60)
        await asyncio.sleep(0.2)
        handles = sum(1 for f in psutil.Process().open_files() if f.path == path)
        leases = len(stores._leases)
        await asyncio.gather(*(Meter.get(key).report.remote({"kwh": 1}) for key in keys))
        await asyncio.wait_for(asyncio.gather(*tasks), 60)
        return handles, leases, len(stores._leases)

    handles, leases, after = asyncio.run(app())
    assert handles == 1 and leases == 1     # twenty watches, one connection
    assert after == 0                       # closed with the last watch


def test_watch_arguments_are_checked(no_runtime):
    async def first(**kwargs):   # type: ignore[no-untyped-def]
        async with contextlib.aclosing(twins.watch(Meter, **kwargs)) as changes:
            async for _change in changes:
                return

    import pytest
    for kwargs, error in (({"since_version": 1}, ValueError), ({"key": ""}, ValueError),
                          ({"key": "m", "since_version": -1}, ValueError),
                          ({"key": "m", "since_version": 1, "since": ""}, ValueError),
                          ({"since": 5}, TypeError), ({"parts": []}, ValueError),
                          ({"where": "x"}, TypeError), ({"poll": 0.1}, TypeError)):
        with pytest.raises(error):
            asyncio.run(first(**kwargs))


def test_a_watcher_killed_with_sigkill_is_forgotten_at_the_next_change(use_store, sqlite_url):
    import os
    import signal
    import sqlite3
    import subprocess
    import sys

    from polling import eventually
    use_store(sqlite_url)
    path = sqlite_url.removeprefix("sqlite:///")
    actorium.get(Meter.get("k").report.remote({"kwh": 1}))   # the tables exist
    program = ("import asyncio\nfrom actorium import twins\n"
               "async def main():\n"
               "    async for _change in twins.watch('Meter', 'k'):\n"
               "        pass\n"
               "asyncio.run(main())\n")
    watcher = subprocess.Popen([sys.executable, "-c", program],
                               env={**os.environ, "ACTORIUM_STATE_STORE": sqlite_url})

    def watchers() -> list[str]:
        db = sqlite3.connect(path)
        try:
            return [row[0] for row in db.execute("SELECT address FROM twin_watchers")]
        finally:
            db.close()
    try:
        [address] = eventually(watchers, timeout=60)
        assert address.startswith(f"actorium-twins-{watcher.pid}-")
    finally:
        watcher.send_signal(signal.SIGKILL)
        watcher.wait(30)
    actorium.get(Meter.get("k").report.remote({"kwh": 2}))   # its datagram finds nobody
    eventually(lambda: not watchers(), timeout=60)


def test_a_postgres_watch_listens_again_after_its_connection_is_killed(use_store, postgres_url):
    import asyncpg
    from pg_helpers import fresh_database
    url = fresh_database(postgres_url)
    use_store(url)
    meter = Meter.get("pg")
    actorium.get(meter.report.remote({"kwh": 1}))

    async def app() -> list[int]:
        seen: list[int] = []
        first = asyncio.Event()

        async def follow() -> None:
            async with contextlib.aclosing(twins.watch(Meter, "pg")) as changes:
                async for change in changes:
                    seen.append(change.version)
                    first.set()
                    if len(seen) == 2:
                        return
        task = asyncio.create_task(follow())
        await asyncio.sleep(0.5)
        await meter.report.remote({"kwh": 2})
        await asyncio.wait_for(first.wait(), 60)
        admin = await asyncpg.connect(url)
        try:
            killed = await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE "
                "query ILIKE 'LISTEN%' AND datname = current_database()")
        finally:
            await admin.close()
        assert killed == 1
        await asyncio.sleep(0.5)
        await meter.report.remote({"kwh": 3})     # heard on the new LISTEN connection
        await asyncio.wait_for(task, 60)
        return seen

    assert asyncio.run(app()) == [2, 3]


@actorium.remote
class Follower:
    """An actor watching a twin (in a worker, over that worker's store)."""

    async def first_after(self, key: str, since_version: int) -> list[int]:
        async with contextlib.aclosing(twins.watch(Meter, key, since_version=since_version)
                                       ) as changes:
            async for change in changes:
                return [change.version, change.document["reported"]["kwh"]]
        return []


def test_an_actor_can_watch_a_twin(use_store, sqlite_url):
    use_store(sqlite_url)
    meter = Meter.get("followed")
    actorium.get(meter.report.remote({"kwh": 1}))
    follower = Follower.remote()
    waiting = follower.first_after.remote("followed", 1)
    actorium.get(meter.report.remote({"kwh": 7}))
    assert actorium.get(waiting, timeout=60) == [2, 7]


def test_a_late_watcher_s_history_is_filtered_like_live_changes(use_store, store_url):
    use_store(store_url)
    meter = Meter.get("filtered")
    for kwh in (1, 20, 2, 30, 3):           # versions 1..5: in at 2, out at 3, in 4, out 5
        actorium.get(meter.report.remote({"kwh": kwh}))

    async def app() -> list[tuple[int, bool]]:
        seen: list[tuple[int, bool]] = []
        async with contextlib.aclosing(twins.watch(Meter, "filtered", since_version=2,
                                                   where=Field("reported.kwh") >= 10)
                                       ) as changes:
            async for change in changes:
                seen.append((change.version, change.left))
                if change.version == 6:
                    break
                if change.version == 5:
                    await meter.report.remote({"kwh": 40})
        return seen

    assert asyncio.run(app()) == [(3, True), (4, False), (5, True), (6, False)]


def test_watches_woken_by_one_change_share_one_read(use_store, sqlite_url, monkeypatch):
    from actorium._twins.stores.sqlite import SqliteTwinStore
    reads = []
    journal = SqliteTwinStore.journal

    async def counted(self, *args, **kwargs):   # type: ignore[no-untyped-def]
        reads.append(1)
        return await journal(self, *args, **kwargs)
    monkeypatch.setattr(SqliteTwinStore, "journal", counted)
    use_store(sqlite_url)
    meter = Meter.get("popular")
    actorium.get(meter.report.remote({"kwh": 0}))
    watchers, changes = 20, 3

    async def app() -> tuple[int, list[list[int]]]:
        seen: list[list[int]] = [[] for _ in range(watchers)]
        ready = 0
        all_ready = asyncio.Event()

        async def follow(mine: list[int]) -> None:
            nonlocal ready
            async with contextlib.aclosing(twins.watch(Meter, "popular")) as stream:
                ready += 1
                if ready == watchers:
                    all_ready.set()
                async for change in stream:
                    mine.append(change.document["reported"]["kwh"])
                    if len(mine) == changes:
                        return
        tasks = [asyncio.create_task(follow(mine)) for mine in seen]
        await asyncio.wait_for(all_ready.wait(), 60)
        await asyncio.sleep(0.5)   # every watch has read once and waits
        before = len(reads)
        for kwh in range(1, changes + 1):
            await meter.report.remote({"kwh": kwh})
        await asyncio.wait_for(asyncio.gather(*tasks), 60)
        return len(reads) - before, seen

    shared_reads, seen = asyncio.run(app())
    assert seen == [[1, 2, 3]] * watchers
    assert shared_reads <= changes * 3, shared_reads   # not one read per watch (60)
