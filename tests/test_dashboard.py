"""The dashboard's HTTP side: pages, JSON API, live stream, /metrics, and its safety rules."""

from __future__ import annotations

import http.client
import json
import logging
import os
import re
import socket
import time
import urllib.parse

import psutil
import pytest
from polling import eventually

import actorium

pytestmark = pytest.mark.timeout(90)


@actorium.remote
class Device:
    def __init__(self, name):
        self.name = name

    def ping(self):
        print(f"ping from {self.name}")
        return self.name


class Client:
    """A tiny HTTP client that lets a test set any header (Host, Origin...)."""

    def __init__(self, url):
        parsed = urllib.parse.urlparse(url)
        self.host, self.port = parsed.hostname, parsed.port

    def request(self, method, path, *, body=None, headers=None):
        connection = http.client.HTTPConnection(self.host, self.port, timeout=20)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()

    def json(self, path):
        status, _headers, body = self.request("GET", path)
        assert status == 200, body
        return json.loads(body)

    def action(self, actor_id, action, *, token, content_type="application/json", extra=None):
        headers = {"Content-Type": content_type, **(extra or {})}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        status, _headers, body = self.request("POST", f"/api/actors/{actor_id}/{action}",
                                              body="{}", headers=headers)
        return status, json.loads(body)


@pytest.fixture
def dashboard(start_runtime):
    info = start_runtime()
    assert info.dashboard_url.startswith("http://127.0.0.1:")
    assert len(info["dashboard_token"]) == 64
    return Client(info.dashboard_url), info["dashboard_token"]


def test_pages_and_static_assets_are_served_without_external_resources(dashboard):
    client, _token = dashboard
    status, headers, body = client.request("GET", "/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    page = body.decode()
    assert "/static/main.js" in page and "/static/style.css" in page
    assert "http://" not in page and "https://" not in page  # no CDN: works offline
    modules = client.json("/api/ui/pages")
    assert {"/static/pages/actors.js", "/static/pages/overview.js"} <= set(modules)
    # A first visit fetches every module at once, not level by level of the imports.
    for path in ("/static/main.js", "/static/core/router.js", *modules):
        assert f'<link rel="modulepreload" href="{path}">' in page, path
    for path in ("/static/main.js", "/static/core/router.js", "/static/style.css", *modules):
        status, headers_of, asset = client.request("GET", path)
        assert status == 200 and len(asset) > 500, path
        assert b"https://" not in asset and b"http://" not in asset, path
        if path.endswith(".js"):   # ES modules need a JavaScript MIME type
            assert headers_of["Content-Type"].startswith("text/javascript"), path
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert client.request("GET", "/static/../../etc/passwd")[0] == 404
    assert client.request("GET", "/static/core/../../observer.py")[0] == 404
    assert client.request("GET", "/static/pages/nothing.js")[0] == 404


def test_the_json_api_describes_actors_with_detail(dashboard):
    client, _token = dashboard
    devices = [Device.options(name=f"device-{i}").remote(f"d{i}") for i in range(3)]
    actorium.get([d.ping.remote() for d in devices])
    listing = eventually(lambda: [a for a in client.json("/api/actors")
                                  if a["class_name"] == "Device" and a["state"] == "ALIVE"])
    assert len(listing) == 3
    found = client.json("/api/actors?search=device-1")
    assert [a["name"] for a in found] == ["device-1"]
    actor_id = found[0]["actor_id"]
    detail = eventually(lambda: (d := client.json(f"/api/actors/{actor_id}"))["recent_calls"]
                        and d["logs"] and d)
    assert detail["recent_calls"][-1]["name"] == "Device.ping"
    assert detail["logs"][-1]["text"] == "ping from d1"
    assert any(e["kind"] == "actor_created" for e in detail["events"])
    summary = client.json("/api/summary")
    assert summary["actors_by_state"]["ALIVE"] >= 3
    assert client.request("GET", "/api/actors/00ff")[0] == 404
    assert client.request("GET", "/api/nonsense")[0] == 400
    assert set(client.json("/api")) >= {"GET /api/actors?state=&search=", "GET /metrics"}


def test_kill_needs_the_token_and_then_kills(dashboard):
    client, token = dashboard
    device = Device.remote("victim")
    actorium.get(device.ping.remote())
    actor_id = device._actor_id.hex()
    status, body = client.action(actor_id, "kill", token=None)
    assert status == 403 and "token" in body["error"]
    status, body = client.action(actor_id, "kill", token="0" * 64)
    assert status == 403
    # A form post (what a cross-site page can send without a preflight) is refused.
    status, body = client.action(actor_id, "kill", token=token,
                                 content_type="application/x-www-form-urlencoded")
    assert status == 403 and "JSON" in body["error"]
    assert actorium.get(device.ping.remote()) == "victim"   # still alive after refusals
    status, body = client.action(actor_id, "kill", token=token)
    assert status == 200 and body["ok"]

    def call_fails():
        # The kill travels node -> worker while our call goes straight to the worker, so a
        # call made at once may still be served; soon every call fails.
        try:
            actorium.get(device.ping.remote(), timeout=20)
        except actorium.exceptions.ActorDiedError:
            return True
        return False

    eventually(call_fails)
    assert client.json(f"/api/actors/{actor_id}")["state"] == "DEAD"
    status, body = client.action(actor_id, "kill", token=token)
    assert status == 409


def test_restart_restarts_an_actor_with_restarts_left_and_refuses_otherwise(dashboard):
    client, token = dashboard
    keeper = Device.options(max_restarts=1).remote("keeper")
    plain = Device.remote("plain")
    actorium.get([keeper.ping.remote(), plain.ping.remote()])
    status, body = client.action(plain._actor_id.hex(), "restart", token=token)
    assert status == 409 and "no restarts left" in body["error"]
    status, _body = client.action(keeper._actor_id.hex(), "restart", token=token)
    assert status == 200
    # A call racing the restart may fail (calls are at-most-once); once the dashboard shows
    # the new incarnation alive, calls reach it.
    eventually(lambda: (a := client.json(f"/api/actors/{keeper._actor_id.hex()}"))["restarts"]
               == 1 and a["state"] == "ALIVE")
    assert actorium.get(keeper.ping.remote(), timeout=30) == "keeper"


def test_foreign_hosts_and_cross_origin_requests_are_refused(dashboard):
    client, token = dashboard
    device = Device.remote("guarded")
    actorium.get(device.ping.remote())
    # DNS rebinding: a hostile name resolving to 127.0.0.1 reaches the port with its own Host.
    status, _h, _b = client.request("GET", "/api/actors", headers={"Host": "evil.example"})
    assert status == 421
    status, body = client.action(device._actor_id.hex(), "kill", token=token,
                                 extra={"Origin": "http://evil.example"})
    assert status == 403 and "cross-origin" in body["error"]
    status, body = client.action(device._actor_id.hex(), "kill", token=token,
                                 extra={"Sec-Fetch-Site": "cross-site"})
    assert status == 403
    assert actorium.get(device.ping.remote()) == "guarded"


def test_the_live_stream_sends_summaries_and_log_lines(dashboard):
    client, _token = dashboard
    device = Device.remote("streamer")
    actorium.get(device.ping.remote())
    connection = http.client.HTTPConnection(client.host, client.port, timeout=20)
    connection.request("GET", "/api/stream")
    response = connection.getresponse()
    assert response.getheader("Content-Type") == "text/event-stream"
    seen = set()
    deadline = time.monotonic() + 20
    try:
        actorium.get(device.ping.remote())
        while time.monotonic() < deadline and not {"summary", "log"} <= seen:
            line = response.readline().decode()
            if line.startswith("event: "):
                seen.add(line.split(": ", 1)[1].strip())
    finally:
        connection.close()
    assert {"summary", "log"} <= seen


def test_metrics_are_served_in_prometheus_text_format(dashboard):
    client, _token = dashboard
    device = Device.remote("metered")
    actorium.get([device.ping.remote() for _ in range(5)])

    def scraped():
        status, headers, body = client.request("GET", "/metrics")
        text = body.decode()
        return (status, headers, text) if 'name="Device"' in text else None

    status, headers, text = eventually(scraped)
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    assert '# TYPE actorium_call_duration_seconds histogram' in text


def test_without_the_dashboard_nothing_listens(start_runtime):
    info = start_runtime(include_dashboard=False)
    assert info.dashboard_url == ""


def test_a_requested_port_that_is_taken_is_a_clear_error(no_runtime):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(actorium.exceptions.ActoriumError,
                           match=f"cannot listen on 127.0.0.1:{port}"):
            actorium.init(num_cpus=1, dashboard_port=port)
    assert not actorium.is_initialized()


@pytest.fixture
def broken_aiohttp(tmp_path, monkeypatch):
    """An aiohttp that fails to import in the processes started from now on (the node)."""
    package = tmp_path / "shadow" / "aiohttp"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("raise ImportError('aiohttp is broken here')\n")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(tmp_path / "shadow"), *filter(None, [os.environ.get("PYTHONPATH")])]))


def _listening_ports(pid: int) -> set[int]:
    return {c.laddr.port for c in psutil.Process(pid).net_connections(kind="tcp")
            if c.status == psutil.CONN_LISTEN}


def test_a_dashboard_that_cannot_start_gives_no_url_and_closes_its_socket(
        no_runtime, broken_aiohttp, caplog):
    with caplog.at_level(logging.WARNING, logger="actorium"):
        info = actorium.init(num_cpus=1)
    try:
        assert info.dashboard_url == "" and info["webui_url"] == ""
        assert any("the dashboard could not start: it needs aiohttp" in r.getMessage()
                   and "aiohttp is broken here" in r.getMessage() for r in caplog.records)
        node_pid = actorium._api._embedded.process.pid
        assert _listening_ports(node_pid) == set()   # no port left accepting and never answering
        assert actorium.get(actorium.put(7)) == 7      # the runtime itself works
    finally:
        actorium.shutdown()


def test_include_dashboard_true_fails_init_when_the_dashboard_cannot_start(
        no_runtime, broken_aiohttp):
    with pytest.raises(actorium.exceptions.ActoriumError,
                       match="include_dashboard=True.*could not start: it needs aiohttp"):
        actorium.init(num_cpus=1, include_dashboard=True)
    assert not actorium.is_initialized()


def test_bad_dashboard_options_are_rejected_before_starting(no_runtime):
    with pytest.raises(ValueError, match="dashboard_port"):
        actorium.init(dashboard_port=70000)
    assert not actorium.is_initialized()


def test_the_head_of_a_cluster_serves_the_dashboard_and_prints_its_url(no_runtime, tmp_path):
    from cluster_helpers import local_cluster

    with local_cluster(str(tmp_path), [{"num_cpus": 1}, {"num_cpus": 1}]) as started:
        head_output = started["outputs"][0]
        found = re.search(r"^Dashboard: (http://127\.0\.0\.1:\d+)/\?token=([0-9a-f]{64})$",
                          head_output, re.M)
        assert found, head_output
        url, token = found.groups()
        assert "Dashboard:" not in started["outputs"][1]   # joined nodes serve none
        client = Client(url)
        nodes = client.json("/api/nodes")
        assert nodes and nodes[0]["state"] == "ALIVE"
        # The timeline shows both nodes joining the cluster.
        joined = eventually(lambda: [e for e in client.json("/api/events")
                                     if e["kind"] == "node_joined"])
        assert len({e["node_id"] for e in joined}) == 2
        status, body = client.action("00" * 16, "kill", token=token)
        assert status == 404   # authorized, and told the actor does not exist
