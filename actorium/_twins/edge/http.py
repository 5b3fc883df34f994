"""The edge agent's local HTTP API, for devices that cannot speak MQTT themselves.

Every route needs ``Authorization: Bearer <token>`` (the agent's token file): a process on
the box that cannot read the token can neither inject reports nor read desired states.

    POST /devices/{key}/reported   body: a JSON object (the patch)
         -> 202 {"seq": n, "queued": q}   once the report is on disk
         -> 400 (not a JSON object, a value that is not JSON, a bad key), 401, 507 (full)
    GET  /devices/{key}/desired[?after=VERSION&wait=SECONDS]
         -> 200 {"desired", "delta", "version"}   (long-polls until version > after)
         -> 404 while no desired state came for the key
    GET  /status -> 200 {"connected", "queued", "oldest_age", "sent", "expired", ...}
"""

from __future__ import annotations

import hmac
import json
import math
from typing import Any

from aiohttp import web

from actorium._twins.edge.agent import EdgeAgent
from actorium.exceptions import QueueFullError

MAX_BODY = 256 * 1024
MAX_WAIT = 300.0


def make_app(agent: EdgeAgent, token: str) -> web.Application:
    """The aiohttp application serving ``agent`` to holders of ``token``."""
    expected = f"Bearer {token}".encode()

    @web.middleware
    async def authenticate(request: web.Request, handler: Any) -> web.StreamResponse:
        given = request.headers.get("Authorization", "").encode()
        if not hmac.compare_digest(given, expected):
            return _error(401, "missing or wrong token (Authorization: Bearer <token file>)")
        response: web.StreamResponse = await handler(request)
        return response

    async def reported(request: web.Request) -> web.Response:
        key = request.match_info["key"]
        body = await request.read()
        try:
            patch = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            return _error(400, f"the body is not JSON ({exc})")
        try:
            seq, queued = await agent.report(key, patch)
        except (ValueError, TypeError) as exc:
            return _error(400, str(exc))
        except QueueFullError as exc:
            return _error(507, str(exc))
        return web.json_response({"seq": seq, "queued": queued}, status=202)

    async def desired(request: web.Request) -> web.Response:
        key = request.match_info["key"]
        try:
            after = int(request.query.get("after", "-1"))
            wait = float(request.query.get("wait", "0"))
            if not math.isfinite(wait) or wait < 0:
                raise ValueError
        except ValueError:
            return _error(400, "after is an int (a version) and wait a number of seconds >= 0")
        try:
            found = await agent.wait_desired(key, after, min(wait, MAX_WAIT)) if wait else \
                await agent.desired(key)
        except ValueError as exc:
            return _error(400, str(exc))
        if found is None:
            return _error(404, f"no desired state received for {key!r} yet")
        return web.json_response(found)

    async def status(_request: web.Request) -> web.Response:
        return web.json_response(await agent.status())

    app = web.Application(middlewares=[authenticate], client_max_size=MAX_BODY)
    app.router.add_post("/devices/{key}/reported", reported)
    app.router.add_get("/devices/{key}/desired", desired)
    app.router.add_get("/status", status)
    return app


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)
