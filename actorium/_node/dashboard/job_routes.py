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
from typing import TYPE_CHECKING, Any

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


def add_routes(server: DashboardServer, app: web.Application) -> None:
    node = server.observer.node
    JobRoutes(node.jobs, node.packages, node.put_package, server.token).add_to(app)
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
            return error(401, REFUSED)
        if request.headers.get("Sec-Fetch-Site") not in (None, "same-origin", "none"):
            return error(403, "cross-site requests are refused")
        if body is not None and request.content_type != body:
            return error(415, f"this request must send a {body} body")
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
        return json_response({"version": API_VERSION, "ray_version": self.version,
                      "actorium_version": self.version, "ray_commit": "",
                      "session_name": ""})

    async def _has_package(self, request: web.Request) -> web.StreamResponse:
        refused = self._refusal(request)
        if refused is not None:
            return refused
        uri = _package_uri(request)
        if uri is None:
            return error(400, "package names are <hash>.zip under the pkg protocol")
        if self.packages.has(uri):
            return web.Response()
        return error(404, f"Package {uri} does not exist")

    async def _upload_package(self, request: web.Request) -> web.StreamResponse:
        refused = self._refusal(request, body="application/zip")
        if refused is not None:
            return refused
        uri = _package_uri(request)
        if uri is None:
            return error(400, "package names are <hash>.zip under the pkg protocol")
        # Read here, not with request.read(): the dashboard's body limit is for small JSON.
        data = bytearray()
        async for chunk in request.content.iter_chunked(1 << 20):
            data += chunk
            if len(data) > MAX_PACKAGE_UPLOAD:
                return error(413, f"a package may hold at most {MAX_PACKAGE_UPLOAD >> 20} MiB")
        try:
            await self._put_package(uri, bytes(data))
        except ValueError as exc:
            return error(400, str(exc))
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
            return error(400, str(exc))
        return json_response({"job_id": submission_id, "submission_id": submission_id})

    async def _list(self, request: web.Request) -> web.StreamResponse:
        refused = self._refusal(request)
        if refused is not None:
            return refused
        try:
            return json_response(self._jobs().list())
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
            return error(404, f"Job {request.match_info['id']} does not exist")
        return json_response(record)

    async def _stop(self, request: web.Request) -> web.StreamResponse:
        refused = self._refusal(request, body="application/json")
        if refused is not None:
            return refused
        try:
            return json_response({"stopped": self._jobs().stop(request.match_info["id"])})
        except _Unavailable as exc:
            return exc.response()
        except LookupError as exc:
            return error(404, str(exc.args[0]))

    async def _delete(self, request: web.Request) -> web.StreamResponse:
        refused = self._refusal(request)
        if refused is not None:
            return refused
        try:
            return json_response({"deleted": self._jobs().delete(request.match_info["id"])})
        except _Unavailable as exc:
            return exc.response()
        except LookupError as exc:
            return error(404, str(exc.args[0]))
        except ValueError as exc:
            return error(400, str(exc))

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
            return error(404, str(exc.args[0]))
        except ValueError as exc:
            return error(400, str(exc))
        return json_response({"logs": text, "offset": end})

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
            return error(404, str(exc.args[0]))
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
        return error(503, "job submission needs a cluster head (actorium start --head); this "
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
