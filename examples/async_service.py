"""An aiohttp web service whose handlers await actors and tasks.

The request handlers run on aiohttp's event loop and simply ``await`` actor calls and tasks:
no thread pool, no blocking ``get()``. The script starts the server on 127.0.0.1 (a free
port), sends it a few requests with aiohttp's client, prints the answers and stops everything.

    python examples/async_service.py
"""

from __future__ import annotations

import asyncio

from aiohttp import ClientSession, web

import actorium
from actorium.actor import ActorProxy


class _VisitCounter:
    """Shared state behind the web app: one counter per page."""

    def __init__(self) -> None:
        self.visits: dict[str, int] = {}

    @actorium.method          # typed for the handles too, by pyright as well (docs/typing.md)
    async def visit(self, page: str) -> int:
        self.visits[page] = self.visits.get(page, 0) + 1
        return self.visits[page]

    @actorium.method
    async def snapshot(self) -> dict[str, int]:
        return dict(self.visits)


# The actor class, made from the plain class, which stays a class that annotations can name
# (ActorProxy[_VisitCounter]) for every type checker (docs/typing.md).
VisitCounter = actorium.remote(_VisitCounter)


@actorium.remote
def fibonacci(n: int) -> int:
    """CPU work runs as a task in a worker process, off the web server's loop."""
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


def make_app(counter: ActorProxy[_VisitCounter]) -> web.Application:
    # Through an ActorProxy, pyright checks counter.visit.remote(name) and infers its int.
    async def page(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        count = await counter.visit.remote(name)
        return web.json_response({"page": name, "visits": count})

    async def fib(request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        return web.json_response({"n": n, "fib": await fibonacci.remote(n)})

    async def stats(_request: web.Request) -> web.Response:
        return web.json_response(await counter.snapshot.remote())

    app = web.Application()
    app.add_routes([web.get("/page/{name}", page), web.get("/fib/{n:\\d+}", fib),
                    web.get("/stats", stats)])
    return app


async def main() -> None:
    runner = web.AppRunner(make_app(VisitCounter.remote()))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()   # port 0: any free port
    host, port = runner.addresses[0][:2]
    print(f"serving on http://{host}:{port}")
    try:
        async with ClientSession(f"http://{host}:{port}") as http:
            for path in ("/page/home", "/page/docs", "/page/home", "/fib/90", "/stats"):
                async with http.get(path) as response:
                    print(f"GET {path:<11} -> {response.status} {await response.json()}")
            # Many requests at once: each handler awaits the actor concurrently.
            bursts = [http.get("/page/home") for _ in range(20)]
            answers = [await r.json() for r in await asyncio.gather(*bursts)]
            print("after a burst of 20: home visits =", max(a["visits"] for a in answers))
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    actorium.init()   # blocking: call it before asyncio.run(), not inside the loop
    try:
        asyncio.run(main())
    finally:
        actorium.shutdown()
