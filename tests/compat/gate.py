"""An actor that holds calls until it is opened: the held calls stay unfinished for as long
as a test wants (pending-call limits, task events of running calls, actors outliving tasks)."""

from __future__ import annotations

import asyncio

import actorium


@actorium.remote
class Gate:
    def __init__(self) -> None:
        self.event = asyncio.Event()

    async def wait(self) -> None:
        await self.event.wait()

    async def open(self) -> None:
        self.event.set()
