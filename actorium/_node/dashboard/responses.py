"""JSON responses and errors, the same for every route of the dashboard."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web


def json_response(data: Any) -> web.Response:
    return web.Response(text=json.dumps(data, default=str), content_type="application/json",
                        headers={"Cache-Control": "no-store"})


def error(status: int, message: str) -> web.Response:
    return web.Response(status=status, text=json.dumps({"error": message}),
                        content_type="application/json")
