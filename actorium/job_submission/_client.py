"""``JobSubmissionClient``: Ray's job SDK over the dashboard's job API (plain HTTP).

Every call blocks until the dashboard answers (urllib, no event loop), except
``tail_job_logs``, an async iterator (a websocket; needs aiohttp). Errors from the server
raise ``RuntimeError`` with its message, as Ray's client does.
"""

from __future__ import annotations

import copy
import json
import os
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from typing import Any

from actorium._cluster.daemon import local_dashboard
from actorium._jobs.models import JobDetails, JobStatus, JobSubmitRequest
from actorium._runtime_env import packaging
from actorium._runtime_env.spec import RuntimeEnv, is_package_uri
from actorium._transport.auth import TOKEN_ENV, token_from_environment

ADDRESS_ENV = "ACTORIUM_API_SERVER_ADDRESS"
DEFAULT_ADDRESS = "http://127.0.0.1:8265"
_TIMEOUT = 60.0


def resolve_address(address: str | None) -> tuple[str, str | None]:
    """(dashboard URL, token if known) for ``address``: a URL, ``HOST:PORT``, ``"auto"`` (the
    cluster started on this machine) or None (``ACTORIUM_API_SERVER_ADDRESS``, else the local
    cluster, else http://127.0.0.1:8265)."""
    local = local_dashboard()
    if address is None:
        address = os.environ.get(ADDRESS_ENV) or (local[0] if local else DEFAULT_ADDRESS)
    if address == "auto":
        if local is None:
            raise ConnectionError("address='auto': no actorium cluster with a dashboard was "
                                  "started on this machine (actorium start --head)")
        address = local[0]
    if "://" not in address:
        address = f"http://{address}"
    if not address.startswith(("http://", "https://")):
        raise ValueError(f"the job API is reached over http(s), got {address!r}")
    address = address.rstrip("/")
    token = token_from_environment()
    if token is None and local is not None and local[0].rstrip("/") == address:
        token = local[1]
    return address, token


class JobSubmissionClient:
    """Submit, follow and stop jobs on a cluster, by its dashboard address.

    ``address``: see ``resolve_address``. The cluster token comes from ``token``, else
    ``ACTORIUM_CLUSTER_TOKEN``, else the cluster started on this machine. The constructor
    checks that the dashboard answers and accepts the token (``ConnectionError`` if not).
    """

    def __init__(self, address: str | None = None, create_cluster_if_needed: bool = False,
                 cookies: dict[str, Any] | None = None, metadata: dict[str, Any] | None = None,
                 headers: dict[str, Any] | None = None, verify: str | bool = True, *,
                 token: str | None = None) -> None:
        if create_cluster_if_needed:
            raise ValueError("create_cluster_if_needed is not supported: start a cluster with "
                             "`actorium start --head`")
        if cookies:
            raise ValueError("cookies are not supported: the job API authenticates with the "
                             "cluster token")
        if verify is not True:
            raise ValueError("verify is not supported: the dashboard speaks plain http")
        for name, value in (("metadata", metadata), ("headers", headers)):
            if value is not None and not isinstance(value, dict):
                raise TypeError(f"{name} must be a dict, got {type(value).__name__}")
        self._address, found = resolve_address(address)
        self._token = token or found
        if not self._token:
            raise ConnectionError(f"no cluster token for {self._address}: set {TOKEN_ENV} to "
                                  f"the token printed by `actorium start --head`")
        self._headers = {str(k): str(v) for k, v in (headers or {}).items()}
        self._headers["Authorization"] = f"Bearer {self._token}"
        self._default_metadata = {str(k): str(v) for k, v in (metadata or {}).items()}
        try:
            self._version = self._request("GET", "/api/version")["version"]
        except RuntimeError as exc:
            raise ConnectionError(f"the job API at {self._address} refused us: {exc}") from None

    @property
    def address(self) -> str:
        return self._address

    # ------------------------------------------------------------------ HTTP
    def _request(self, method: str, path: str, body: Any = None, *, data: bytes | None = None,
                 content_type: str = "application/json", allow_404: bool = False) -> Any:
        if body is not None:
            data = json.dumps(body).encode()
        elif data is None and method in ("POST", "PUT"):
            data = b"{}"
        headers = dict(self._headers)
        if data is not None:
            headers["Content-Type"] = content_type
        request = urllib.request.Request(self._address + path, data=data, method=method,
                                         headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=_TIMEOUT) as response:
                text = response.read().decode()
        except urllib.error.HTTPError as error:
            if allow_404 and error.code == 404:
                return None
            raise RuntimeError(f"Request failed with status code {error.code}: "
                               f"{_message(error.read().decode(errors='replace'))}") from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise ConnectionError(f"the job API at {self._address} cannot be reached: "
                                  f"{reason}") from None
        return json.loads(text) if text else {}

    def _upload(self, path: str, excludes: list[str], *, as_module: bool) -> str:
        uri, zipped = packaging.package(path, excludes, as_module=as_module)
        name = packaging.package_name(uri)
        if self._request("GET", f"/api/packages/pkg/{name}", allow_404=True) is None:
            self._request("PUT", f"/api/packages/pkg/{name}", data=zipped,
                          content_type="application/zip")
        return uri

    def _upload_local_paths(self, runtime_env: dict[str, Any]) -> dict[str, Any]:
        env = dict(RuntimeEnv(**copy.deepcopy(runtime_env)))   # checked here, like Ray's
        excludes = env.pop("excludes", [])
        if env.get("working_dir") and not is_package_uri(env["working_dir"]):
            env["working_dir"] = self._upload(env["working_dir"], excludes, as_module=False)
        if env.get("py_modules"):
            env["py_modules"] = [m if is_package_uri(m) else
                                 self._upload(m, excludes, as_module=True)
                                 for m in env["py_modules"]]
        return json.loads(json.dumps(env))  # type: ignore[no-any-return]

    # ------------------------------------------------------------------ Ray's methods
    def submit_job(self, *, entrypoint: str, job_id: str | None = None,
                   runtime_env: dict[str, Any] | None = None,
                   metadata: dict[str, str] | None = None, submission_id: str | None = None,
                   entrypoint_num_cpus: float | None = None,
                   entrypoint_num_gpus: float | None = None,
                   entrypoint_memory: int | None = None,
                   entrypoint_resources: dict[str, float] | None = None) -> str:
        """Submit a job; returns its submission id at once (it runs in the background).

        A local ``working_dir`` / ``py_modules`` in ``runtime_env`` is zipped and uploaded
        first (only if the cluster lacks it). ``RuntimeError`` if the server refuses.
        """
        request = JobSubmitRequest(
            entrypoint=entrypoint, submission_id=submission_id or job_id,
            runtime_env=self._upload_local_paths(runtime_env) if runtime_env else None,
            metadata={**self._default_metadata, **(metadata or {})},
            entrypoint_num_cpus=entrypoint_num_cpus, entrypoint_num_gpus=entrypoint_num_gpus,
            entrypoint_memory=entrypoint_memory, entrypoint_resources=entrypoint_resources)
        body = {k: v for k, v in vars(request).items() if v is not None}
        return str(self._request("POST", "/api/jobs/", body)["submission_id"])

    def stop_job(self, job_id: str) -> bool:
        """Ask the job to stop (SIGTERM, then SIGKILL after 3 s); True if it was running."""
        return bool(self._request("POST", f"/api/jobs/{job_id}/stop", {})["stopped"])

    def delete_job(self, job_id: str) -> bool:
        """Forget a job that ended (RuntimeError if it has not); its log file stays."""
        return bool(self._request("DELETE", f"/api/jobs/{job_id}")["deleted"])

    def get_job_info(self, job_id: str) -> JobDetails:
        return JobDetails.from_json(self._request("GET", f"/api/jobs/{job_id}"))

    def list_jobs(self) -> list[JobDetails]:
        return [JobDetails.from_json(row) for row in self._request("GET", "/api/jobs/")]

    def get_job_status(self, job_id: str) -> JobStatus:
        return self.get_job_info(job_id).status

    def get_job_logs(self, job_id: str) -> str:
        """Everything the job's entrypoint printed so far (stdout and stderr)."""
        return str(self._request("GET", f"/api/jobs/{job_id}/logs")["logs"])

    def get_version(self) -> str:
        return str(self._version)

    async def tail_job_logs(self, job_id: str) -> AsyncIterator[str]:
        """Yield the job's output as it is printed, until the job has ended."""
        try:
            import aiohttp
        except ImportError:
            raise RuntimeError("tail_job_logs needs aiohttp: pip install 'actorium[dashboard]'"
                               ) from None
        async with aiohttp.ClientSession(headers=self._headers) as session:
            try:
                socket = await session.ws_connect(f"{self._address}/api/jobs/{job_id}/logs/tail")
            except aiohttp.WSServerHandshakeError as error:
                raise RuntimeError(f"Request failed with status code {error.status}: "
                                   f"{error.message}") from None
            async with socket:
                async for message in socket:
                    if message.type == aiohttp.WSMsgType.TEXT:
                        yield str(message.data)
                    elif message.type == aiohttp.WSMsgType.ERROR:
                        raise RuntimeError(f"the log stream of job {job_id} broke: "
                                           f"{socket.exception()}")


def _message(text: str) -> str:
    try:
        return str(json.loads(text)["error"])
    except (ValueError, KeyError, TypeError):
        return text
