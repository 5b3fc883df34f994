"""The job REST API under the dashboard, with Ray's routes; every route needs the token.

    GET    /api/version                         the API version
    GET    /api/packages/{protocol}/{name}      200 if the package was uploaded, else 404
    PUT    /api/packages/{protocol}/{name}      upload a package (the body is the zip)
    POST   /api/jobs/                           submit: JobSubmitRequest -> {submission_id}
    GET    /api/jobs/                           every job (JobDetails)
    GET    /api/jobs/{id}                       one job
    POST   /api/jobs/{id}/stop                  {"stopped": bool}
    DELETE /api/jobs/{id}                       {"deleted": bool}
    GET    /api/jobs/{id}/logs?offset=          {"logs": str, "offset": int}
    GET    /api/jobs/{id}/logs/tail             websocket: the log as it grows

A job runs arbitrary commands on the cluster, so reading counts as much as writing: the
cluster token is required as ``Authorization: Bearer <token>`` on every route (checked in
constant time; a wrong or missing token gets the same answer, with no hint). A request a
browser sends cross-site is refused (``Sec-Fetch-Site``, and ``Origin`` by the dashboard's
own guard); bodies of state-changing requests must be JSON (or the zip of an upload), which a
cross-site form cannot send without a preflight this server never grants.
"""

from __future__ import annotations

import hmac
import importlib.metadata
import json
from typing import Any

from aiohttp import web

from actorium._jobs.manager import JobManager
from actorium._jobs.models import JobSubmitRequest
from actorium._runtime_env.packaging import PackageStore, package_name

API_VERSION = "1"
REFUSED = "unauthorized"
MAX_PACKAGE_UPLOAD = 512 * 1024 * 1024


class JobRoutes:
    """The job API of one dashboard; ``manager`` is None where no head runs (embedded)."""

    def __init__(self, manager: JobManager | None, packages: PackageStore,
                 put_package: Any, token: str) -> None:
        self.manager = manager
        self.packages = packages
        self._put_package = put_package   # async (uri, data): keep here and at the head
        self.token = token
        try:
            self.version = importlib.metadata.version("actorium")
        except importlib.metadata.PackageNotFoundError:
            self.version = "unknown"

    def add_to(self, app: web.Application) -> None:
        app.add_routes([
            web.get("/api/version", self._version),
            web.get("/api/packages/{protocol}/{name}", self._has_package),
            web.put("/api/packages/{protocol}/{name}", self._upload_package),
            web.post("/api/jobs/", self._submit),
            web.get("/api/jobs/", self._list),
            web.get("/api/jobs/{id}", self._get),
            web.post("/api/jobs/{id}/stop", self._stop),
            web.delete("/api/jobs/{id}", self._delete),
            web.get("/api/jobs/{id}/logs", self._logs),
            web.get("/api/jobs/{id}/logs/tail", self._tail),
        ])

    # ------------------------------------------------------------------ guard
    def _refusal(self, request: web.Request, *, body: str | None = None) -> web.Response | None:
        sent = request.headers.get("Authorization", "")
        given = sent[len("Bearer "):] if sent.startswith("Bearer ") else ""
        if not hmac.compare_digest(given.encode(), self.token.encode()):
            return _error(401, REFUSED)
        if request.headers.get("Sec-Fetch-Site") not in (None, "same-origin", "none"):
            return _error(403, "cross-site requests are refused")
        if body is not None and request.content_type != body:
            return _error(415, f"this request must send a {body} body")
        return None

    def _jobs(self) -> JobManager:
        if self.manager is None:
            raise _Unavailable()
        return self.manager

    # ------------------------------------------------------------------ routes
    async def _version(self, request: web.Request) -> web.StreamResponse:
        refused = self._refusal(request)
        if refused is not None:
            return refused
        return _json({"version": API_VERSION, "ray_version": self.version,
                      "actorium_version": self.version, "ray_commit": "",
                      "session_name": ""})

    async def _has_package(self, request: web.Request) -> web.StreamResponse:
        refused = self._refusal(request)
        if refused is not None:
            return refused
        uri = _package_uri(request)
        if uri is None:
            return _error(400, "package names are <hash>.zip under the pkg protocol")
        if self.packages.has(uri):
            return web.Response()
        return _error(404, f"Package {uri} does not exist")

    async def _upload_package(self, request: web.Request) -> web.StreamResponse:
        refused = self._refusal(request, body="application/zip")
        if refused is not None:
            return refused
        uri = _package_uri(request)
        if uri is None:
            return _error(400, "package names are <hash>.zip under the pkg protocol")
        # Read here, not with request.read(): the dashboard's body limit is for small JSON.
        data = bytearray()
        async for chunk in request.content.iter_chunked(1 << 20):
            data += chunk
            if len(data) > MAX_PACKAGE_UPLOAD:
                return _error(413, f"a package may hold at most {MAX_PACKAGE_UPLOAD >> 20} MiB")
        try:
            await self._put_package(uri, bytes(data))
        except ValueError as exc:
            return _error(400, str(exc))
        return web.Response()

    async def _submit(self, request: web.Request) -> web.StreamResponse:
        refused = self._refusal(request, body="application/json")
        if refused is not None:
            return refused
        try:
            submit = JobSubmitRequest.from_json(await request.json())
            submission_id = self._jobs().submit(submit)
        except _Unavailable as exc:
            return exc.response()
        except (TypeError, ValueError) as exc:
            return _error(400, str(exc))
        return _json({"job_id": submission_id, "submission_id": submission_id})

    async def _list(self, request: web.Request) -> web.StreamResponse:
        refused = self._refusal(request)
        if refused is not None:
            return refused
        try:
            return _json(self._jobs().list())
        except _Unavailable as exc:
            return exc.response()

    async def _get(self, request: web.Request) -> web.StreamResponse:
        refused = self._refusal(request)
        if refused is not None:
            return refused
        try:
            record = self._jobs().get(request.match_info["id"])
        except _Unavailable as exc:
            return exc.response()
        if record is None:
            return _error(404, f"Job {request.match_info['id']} does not exist")
        return _json(record)

    async def _stop(self, request: web.Request) -> web.StreamResponse:
        refused = self._refusal(request, body="application/json")
        if refused is not None:
            return refused
        try:
            return _json({"stopped": self._jobs().stop(request.match_info["id"])})
        except _Unavailable as exc:
            return exc.response()
        except LookupError as exc:
            return _error(404, str(exc.args[0]))

    async def _delete(self, request: web.Request) -> web.StreamResponse:
        refused = self._refusal(request)
        if refused is not None:
            return refused
        try:
            return _json({"deleted": self._jobs().delete(request.match_info["id"])})
        except _Unavailable as exc:
            return exc.response()
        except LookupError as exc:
            return _error(404, str(exc.args[0]))
        except ValueError as exc:
            return _error(400, str(exc))

    async def _logs(self, request: web.Request) -> web.StreamResponse:
        refused = self._refusal(request)
        if refused is not None:
            return refused
        try:
            offset = int(request.query.get("offset", "0"))
            if offset < 0:
                raise ValueError("offset must be >= 0")
            text, end = self._jobs().logs(request.match_info["id"], offset)
        except _Unavailable as exc:
            return exc.response()
        except LookupError as exc:
            return _error(404, str(exc.args[0]))
        except ValueError as exc:
            return _error(400, str(exc))
        return _json({"logs": text, "offset": end})

    async def _tail(self, request: web.Request) -> web.StreamResponse:
        refused = self._refusal(request)
        if refused is not None:
            return refused
        try:
            manager = self._jobs()
            if manager.get(request.match_info["id"]) is None:
                raise LookupError(f"Job {request.match_info['id']} does not exist")
        except _Unavailable as exc:
            return exc.response()
        except LookupError as exc:
            return _error(404, str(exc.args[0]))
        socket = web.WebSocketResponse(heartbeat=30)
        await socket.prepare(request)
        try:
            async for text in manager.tail(request.match_info["id"]):
                if socket.closed:
                    break
                await socket.send_str(text)
        except ConnectionResetError:
            pass
        await socket.close()
        return socket


class _Unavailable(Exception):
    def response(self) -> web.Response:
        return _error(503, "job submission needs a cluster head (actorium start --head); this "
                           "dashboard belongs to an embedded runtime")


def _package_uri(request: web.Request) -> str | None:
    if request.match_info["protocol"] != "pkg":
        return None
    uri = f"pkg://{request.match_info['name']}"
    try:
        package_name(uri)
    except ValueError:
        return None
    return uri


def _json(data: Any) -> web.Response:
    return web.Response(text=json.dumps(data, default=str), content_type="application/json",
                        headers={"Cache-Control": "no-store"})


def _error(status: int, message: str) -> web.Response:
    return web.Response(status=status, text=json.dumps({"error": message}),
                        content_type="application/json")
