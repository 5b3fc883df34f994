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
