"""The job REST API under the dashboard, with Ray's routes; every route needs the token.

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
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web

from actorium._jobs.manager import JobManager
from actorium._jobs.models import JobSubmitRequest
from actorium._node.dashboard.responses import error, json_response
from actorium._runtime_env.packaging import PackageStore, package_name

if TYPE_CHECKING:
    from actorium._node.dashboard.server import DashboardServer

ROUTES = {
    "GET /api/version": "the job API's version (token required, as on every job route)",
    "GET /api/packages/pkg/{hash}.zip": "200 if that package was uploaded, else 404",
    "PUT /api/packages/pkg/{hash}.zip": "upload a working_dir / py_modules package (zip body)",
    "POST /api/jobs/": "submit a job: {entrypoint, runtime_env, ...} -> {submission_id}",
    "GET /api/jobs/": "every job (JobDetails)",
    "GET /api/jobs/{id}": "one job",
    "POST /api/jobs/{id}/stop": "stop a job -> {stopped}",
    "DELETE /api/jobs/{id}": "forget a job that ended -> {deleted}",
    "GET /api/jobs/{id}/logs?offset=": "its output -> {logs, offset}",
    "GET /api/jobs/{id}/logs/tail": "websocket: its output as it grows",
}
API_VERSION = "1"
REFUSED = "unauthorized"
MAX_PACKAGE_UPLOAD = 512 * 1024 * 1024

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def add_routes(server: DashboardServer, app: web.Application) -> None:
    node = server.observer.node
    JobRoutes(node.jobs, node.packages, node.put_package, server.token).add_to(app)


class _Unavailable(Exception):
    """This dashboard belongs to an embedded runtime: there is no head to run jobs."""


class JobRoutes:
    """The job API of one dashboard; ``manager`` is None where no head runs (embedded)."""

    def __init__(self, manager: JobManager | None, packages: PackageStore,
                 put_package: Callable[[str, bytes], Awaitable[None]], token: str) -> None:
        self.manager = manager
        self.packages = packages
        self._put_package = put_package   # keeps it here and at the head
        self.token = token
        try:
            self.version = importlib.metadata.version("actorium")
        except importlib.metadata.PackageNotFoundError:
            self.version = "unknown"

    def add_to(self, app: web.Application) -> None:
        json_body, zip_body = "application/json", "application/zip"
        app.add_routes([
            web.get("/api/version", self._guarded(self._version)),
            web.get("/api/packages/{protocol}/{name}", self._guarded(self._has_package)),
            web.put("/api/packages/{protocol}/{name}",
                    self._guarded(self._upload_package, zip_body)),
            web.post("/api/jobs/", self._guarded(self._submit, json_body)),
            web.get("/api/jobs/", self._guarded(self._list)),
            web.get("/api/jobs/{id}", self._guarded(self._get)),
            web.post("/api/jobs/{id}/stop", self._guarded(self._stop, json_body)),
            web.delete("/api/jobs/{id}", self._guarded(self._delete)),
            web.get("/api/jobs/{id}/logs", self._guarded(self._logs)),
            web.get("/api/jobs/{id}/logs/tail", self._guarded(self._tail)),
        ])

    # ------------------------------------------------------------------ guard
    def _guarded(self, handler: Handler, body: str | None = None) -> Handler:
        """``handler`` behind the token and cross-site checks; its errors as answers."""
        async def guarded(request: web.Request) -> web.StreamResponse:
            sent = request.headers.get("Authorization", "")
            given = sent[len("Bearer "):] if sent.startswith("Bearer ") else ""
            if not hmac.compare_digest(given.encode(), self.token.encode()):
                return error(401, REFUSED)
            if request.headers.get("Sec-Fetch-Site") not in (None, "same-origin", "none"):
                return error(403, "cross-site requests are refused")
            if body is not None and request.content_type != body:
                return error(415, f"this request must send a {body} body")
            try:
                return await handler(request)
            except _Unavailable:
                return error(503, "job submission needs a cluster head (actorium start "
                                  "--head); this dashboard belongs to an embedded runtime")
            except LookupError as exc:
                return error(404, str(exc.args[0]))
            except (TypeError, ValueError) as exc:
                return error(400, str(exc))
        return guarded

    def _jobs(self) -> JobManager:
        if self.manager is None:
            raise _Unavailable()
        return self.manager

    # ------------------------------------------------------------------ routes
    async def _version(self, _request: web.Request) -> web.StreamResponse:
        return json_response({"version": API_VERSION, "ray_version": self.version,
                              "actorium_version": self.version, "ray_commit": "",
                              "session_name": ""})

    async def _has_package(self, request: web.Request) -> web.StreamResponse:
        uri = _package_uri(request)
        if not self.packages.has(uri):
            raise LookupError(f"Package {uri} does not exist")
        return web.Response()

    async def _upload_package(self, request: web.Request) -> web.StreamResponse:
        uri = _package_uri(request)
        # Read here, not with request.read(): the dashboard's body limit is for small JSON.
        data = bytearray()
        async for chunk in request.content.iter_chunked(1 << 20):
            data += chunk
            if len(data) > MAX_PACKAGE_UPLOAD:
                return error(413, f"a package may hold at most {MAX_PACKAGE_UPLOAD >> 20} MiB")
        await self._put_package(uri, bytes(data))   # ValueError if the hash does not match
        return web.Response()

    async def _submit(self, request: web.Request) -> web.StreamResponse:
        submission_id = self._jobs().submit(JobSubmitRequest.from_json(await request.json()))
        return json_response({"job_id": submission_id, "submission_id": submission_id})

    async def _list(self, _request: web.Request) -> web.StreamResponse:
        return json_response(self._jobs().list())

    async def _get(self, request: web.Request) -> web.StreamResponse:
        record = self._jobs().get(request.match_info["id"])
        if record is None:
            raise LookupError(f"Job {request.match_info['id']} does not exist")
        return json_response(record)

    async def _stop(self, request: web.Request) -> web.StreamResponse:
        return json_response({"stopped": self._jobs().stop(request.match_info["id"])})

    async def _delete(self, request: web.Request) -> web.StreamResponse:
        return json_response({"deleted": self._jobs().delete(request.match_info["id"])})

    async def _logs(self, request: web.Request) -> web.StreamResponse:
        offset = int(request.query.get("offset", "0"))
        if offset < 0:
            raise ValueError("offset must be >= 0")
        text, end = self._jobs().logs(request.match_info["id"], offset)
        return json_response({"logs": text, "offset": end})

    async def _tail(self, request: web.Request) -> web.StreamResponse:
        manager = self._jobs()
        if manager.get(request.match_info["id"]) is None:
            raise LookupError(f"Job {request.match_info['id']} does not exist")
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


def _package_uri(request: web.Request) -> str:
    """``pkg://<hash>.zip`` from the route (ValueError for any other name or protocol)."""
    if request.match_info["protocol"] != "pkg":
        raise ValueError("packages live under the pkg protocol: /api/packages/pkg/<hash>.zip")
    uri = f"pkg://{request.match_info['name']}"
    package_name(uri)
    return uri

