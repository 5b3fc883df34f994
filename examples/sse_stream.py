"""Server-Sent Events from an actor's generator: aiohttp streams each item as it is yielded.

A ``Sensor`` actor yields readings from an async generator method. The aiohttp handler calls
it, gets an ``ObjectRefGenerator`` at once, and writes every reading to the HTTP client as an
SSE ``data:`` line the moment it arrives (``async for`` on the handler's event loop: nothing
blocks the server). When the client goes away, the handler's task is cancelled, the generator
is dropped, and the actor's producer stops: an endless feed costs nothing once nobody reads.

Run: python examples/sse_stream.py [readings]
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator

from aiohttp import ClientSession, web

import actorium


@actorium.remote
class Sensor:
    def __init__(self) -> None:
        self.streams_open = 0

    async def readings(self, limit: int | None) -> AsyncIterator[dict[str, float]]:
        """Yield readings until ``limit`` (None: forever, for as long as someone reads)."""
        self.streams_open += 1
        try:
            n = 0
            while limit is None or n < limit:
                await asyncio.sleep(0.01)       # a real sensor would wait for its hardware
                yield {"seq": n, "celsius": round(20.0 + (n % 7) * 0.5, 1)}
                n += 1
        finally:
            self.streams_open -= 1

    async def open_streams(self) -> int:
        return self.streams_open


async def stream_readings(request: web.Request) -> web.StreamResponse:
    sensor = request.app["sensor"]
    limit = int(request.query["n"]) if "n" in request.query else None
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                           "Cache-Control": "no-cache"})
    await response.prepare(request)
    readings = sensor.readings.remote(limit)
    try:
        async for ref in readings:
            reading = await ref
            await response.write(f"data: {json.dumps(reading)}\n\n".encode())
        await response.write(b"event: end\ndata: {}\n\n")
    except ConnectionResetError:
        pass   # the client hung up; dropping ``readings`` stops the sensor's generator
    return response


async def read_events(session: ClientSession, url: str, most: int) -> list[str]:
    """A real SSE client: read ``data:`` lines until the stream ends or ``most`` are read."""
    events = []
    async with session.get(url) as response:
        assert response.headers["Content-Type"] == "text/event-stream"
        async for raw in response.content:
            line = raw.decode().rstrip("\n")
            if line.startswith("event: end"):
                break
            if line.startswith("data: "):
                events.append(line[len("data: "):])
                if len(events) == most:
                    break   # leaving the block closes the connection
    return events


async def main(count: int) -> None:
    app = web.Application()
    app["sensor"] = Sensor.remote()
    app.router.add_get("/readings", stream_readings)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    print(f"serving on http://127.0.0.1:{port}")
    try:
        async with ClientSession() as session:
            events = await read_events(session, f"http://127.0.0.1:{port}/readings?n={count}",
                                       most=count + 1)
            print(f"finite stream: {len(events)} events, first {events[0]}, last {events[-1]}")
            endless = await read_events(session, f"http://127.0.0.1:{port}/readings", most=3)
            print(f"endless stream: read {len(endless)} events, then hung up")
        for _ in range(500):   # the dropped generator stops its producer
            if await app["sensor"].open_streams.remote() == 0:
                break
            await asyncio.sleep(0.01)
        print(f"streams still open in the sensor: {await app['sensor'].open_streams.remote()}")
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    actorium.init()
    try:
        asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 20))
    finally:
        actorium.shutdown()
