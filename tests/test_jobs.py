"""Jobs: a command shipped to a cluster with its code, run as a driver, followed and stopped.

One cluster (a head with its dashboard and one more node) serves the module; the test of a
head restart starts a cluster of its own. The Jobs page is tested in headless Chromium;
its screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import asyncio
import json
import os
import pathlib
import re
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.error
import urllib.request

import psutil
import pytest
from cluster_helpers import actorium_cli, free_port, local_cluster
from polling import eventually
from test_dashboard_browser import ARTIFACTS, _browser_or_skip, browser_page

import actorium
from actorium.job_submission import JobDetails, JobStatus, JobSubmissionClient

pytestmark = [pytest.mark.multiprocess, pytest.mark.slow, pytest.mark.timeout(180)]

NODES = [{"num_cpus": 2}, {"num_cpus": 1, "resources": '{"other": 1}'}]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    root = tmp_path_factory.mktemp("jobs")
    cache = root / "env-cache"
    previous = os.environ.get("ACTORIUM_RUNTIME_ENV_DIR")
    os.environ["ACTORIUM_RUNTIME_ENV_DIR"] = str(cache)   # the nodes inherit it
    # The other node keeps its environments apart, as a node on another machine would.
    nodes = [NODES[0], {**NODES[1], "env": {"ACTORIUM_RUNTIME_ENV_DIR": str(root / "other")}}]
    try:
        with local_cluster(str(root / "cluster"), nodes) as started:
            url = re.search(r"Dashboard: (http://\S+)/\?token=(\w+)", started["outputs"][0])
            assert url, started["outputs"][0]
            started["url"], started["token"] = url.group(1), url.group(2)
            started["root"] = root
            yield started
    finally:
        if previous is None:
            os.environ.pop("ACTORIUM_RUNTIME_ENV_DIR", None)
        else:
            os.environ["ACTORIUM_RUNTIME_ENV_DIR"] = previous


@pytest.fixture
def client(cluster, no_runtime):
    return JobSubmissionClient()   # address and token: the cluster started on this machine


def wait_until_done(client, job_id, timeout=90.0) -> JobDetails:
    return eventually(lambda: (info := client.get_job_info(job_id)).status.is_terminal()
                      and info, timeout=timeout, every=0.2)


def write(directory, name, source) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_text(textwrap.dedent(source))


# ---------------------------------------------------------------------- running a job
SQUARES = """
    import os
    import actorium
    from helpers import square

    actorium.init()

    @actorium.remote
    def remote_square(x):
        return square(x), os.environ.get("MODE")

    print("results", actorium.get([remote_square.remote(i) for i in range(4)]))
    print("cwd", os.path.basename(os.getcwd()), "data", open("data.txt").read())
"""


def test_a_job_runs_as_a_driver_with_its_code_and_environment_and_keeps_its_output(
        client, tmp_path):
    project = tmp_path / "project"
    write(project, "job.py", SQUARES)
    write(project, "helpers.py", "def square(x):\n    return x * x\n")
    write(project, "data.txt", "shipped")
    job_id = client.submit_job(entrypoint="python job.py", metadata={"owner": "tests"},
                               runtime_env={"working_dir": str(project),
                                            "env_vars": {"MODE": "fast"}})
    assert job_id.startswith("actoriumsubmit_")
    info = wait_until_done(client, job_id)
    logs = client.get_job_logs(job_id)
    assert info.status is JobStatus.SUCCEEDED, (info.message, logs)
    assert "results [(0, 'fast'), (1, 'fast'), (4, 'fast'), (9, 'fast')]" in logs
    assert "data shipped" in logs
    assert info.driver_exit_code == 0 and info.metadata == {"owner": "tests"}
    assert info.runtime_env["working_dir"].startswith("pkg://")
    assert info.start_time <= info.end_time
    assert job_id in [job.submission_id for job in client.list_jobs()]


FOLLOWED = """
    import os, time
    print("first", flush=True)
    while not os.path.exists({gate!r}):
        time.sleep(0.05)
    print("second", flush=True)
"""


def test_logs_stream_while_the_job_runs(client, tmp_path):
    gate = tmp_path / "gate"
    write(tmp_path, "followed.py", FOLLOWED.format(gate=str(gate)))
    job_id = client.submit_job(entrypoint=f"{sys.executable} {tmp_path / 'followed.py'}")

    async def follow() -> str:
        seen = ""
        async for text in client.tail_job_logs(job_id):
            seen += text
            if "first" in seen and not gate.exists():
                assert "second" not in seen   # streamed before the job went on
                gate.touch()
        return seen

    seen = asyncio.run(asyncio.wait_for(follow(), 60))
    assert seen.index("first") < seen.index("second")
    assert client.get_job_status(job_id) is JobStatus.SUCCEEDED


def test_a_failing_job_fails_with_its_exit_code_and_last_lines(client):
    job_id = client.submit_job(entrypoint="echo about to fail; exit 3")
    info = wait_until_done(client, job_id)
    assert info.status is JobStatus.FAILED and info.driver_exit_code == 3
    assert info.error_type == "JOB_ENTRYPOINT_COMMAND_ERROR"
    assert "exit code 3" in info.message and "about to fail" in info.message


def test_a_job_whose_environment_cannot_be_set_up_fails_with_the_installer_output(
        client, tmp_path):
    missing = str(tmp_path / "absent-1.0-py3-none-any.whl")
    job_id = client.submit_job(entrypoint="echo never", runtime_env={"pip": [missing]})
    info = wait_until_done(client, job_id)
    assert info.status is JobStatus.FAILED
    assert info.error_type == "RUNTIME_ENV_SETUP_FAILURE"
    assert missing in info.message and "Failed to set up runtime environment" in info.message
    assert "never" not in client.get_job_logs(job_id)


def test_a_submission_id_is_used_once_and_a_job_that_ended_can_be_deleted(client):
    job_id = client.submit_job(entrypoint="true", submission_id="my-job-1")
    assert job_id == "my-job-1"
    with pytest.raises(RuntimeError, match="already exists"):
        client.submit_job(entrypoint="true", submission_id="my-job-1")
    wait_until_done(client, job_id)
    assert client.stop_job(job_id) is False       # it ended already
    assert client.delete_job(job_id) is True
    with pytest.raises(RuntimeError, match="404"):
        client.get_job_info(job_id)


# ---------------------------------------------------------------------- stopping
HOLDER = """
    import os, time
    import actorium
    actorium.init()

    @actorium.remote
    class Keeper:
        def pid(self):
            return os.getpid()

    @actorium.remote
    def forever():
        time.sleep(3600)

    @actorium.remote
    def task_pid():
        return os.getpid()

    keeper = Keeper.options(name="keeper-of-the-job").remote()
    detached = Keeper.options(name="detached-of-the-job", lifetime="detached").remote()
    long_task = forever.remote()
    print("pids", os.getpid(), actorium.get(keeper.pid.remote()), flush=True)
    actorium.get(long_task)
"""


def _actor_states(env) -> dict[str, str]:
    listed = actorium_cli("list", "actors", "--format", "json", env=env)
    return {row["name"]: row["state"] for row in json.loads(listed.stdout) if row["name"]}


def _running_task_pids(env) -> list[int]:
    listed = actorium_cli("list", "tasks", "--format", "json", env=env)
    return [row["pid"] for row in json.loads(listed.stdout)
            if row["name"] == "forever" and row["state"] == "RUNNING"]


def test_stopping_a_job_ends_its_driver_and_its_non_detached_actors_and_tasks(
        client, cluster, tmp_path):
    write(tmp_path, "holder.py", HOLDER)
    job_id = client.submit_job(entrypoint="python holder.py",
                               runtime_env={"working_dir": str(tmp_path)})
    line = eventually(lambda: re.search(r"pids (\d+) (\d+)", client.get_job_logs(job_id)),
                      timeout=60)
    driver_pid = int(line.group(1))
    task_pids = eventually(lambda: _running_task_pids(cluster["env"]), timeout=30)
    assert _actor_states(cluster["env"])["keeper-of-the-job"] == "ALIVE"
    assert client.stop_job(job_id) is True
    info = wait_until_done(client, job_id, timeout=30)
    assert info.status is JobStatus.STOPPED
    assert not psutil.pid_exists(driver_pid) or \
        psutil.Process(driver_pid).status() == psutil.STATUS_ZOMBIE
    # SIGTERM ended the driver through sys.exit, as on Ray: its shutdown() ran and removed
    # its session directory (and the shared memory of its objects) on the way out.
    assert _session_dirs_of(driver_pid) == []
    eventually(lambda: _actor_states(cluster["env"])["keeper-of-the-job"] == "DEAD")
    eventually(lambda: not any(psutil.pid_exists(p) for p in task_pids))
    assert _running_task_pids(cluster["env"]) == []
    states = _actor_states(cluster["env"])
    assert states["detached-of-the-job"] == "ALIVE"   # detached: it outlives its job
    actorium.init(address="auto")
    try:
        actorium.kill(actorium.get_actor("detached-of-the-job"))
    finally:
        actorium.shutdown()


def _session_dirs_of(pid: int) -> list[str]:
    root = pathlib.Path(tempfile.gettempdir()) / f"actorium-{os.getuid()}"
    return [str(path) for path in root.glob(f"s*-{pid}-*")]


# ---------------------------------------------------------------------- the CLI
def test_the_cli_submits_follows_lists_and_reports_a_failure(cluster, tmp_path):
    write(tmp_path / "project", "hello.py", """
        import actorium
        actorium.init()
        print("hello from", actorium.get_runtime_context().runtime_env["env_vars"]["WHO"])
    """)
    env = cluster["env"]
    done = actorium_cli("job", "submit", "--working-dir", str(tmp_path / "project"),
                        "--runtime-env-json", '{"env_vars": {"WHO": "the cli"}}',
                        "--", "python", "hello.py", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "hello from the cli" in done.stdout and "succeeded" in done.stdout
    job_id = re.search(r"Job '(\S+)' submitted", done.stdout).group(1)
    assert "hello from the cli" in actorium_cli("job", "logs", job_id, env=env).stdout
    assert "succeeded" in actorium_cli("job", "status", job_id, env=env).stdout
    assert job_id in actorium_cli("job", "list", env=env).stdout
    failed = actorium_cli("job", "submit", "--", "sh", "-c", "exit 4", env=env)
    assert failed.returncode == 1 and "failed" in failed.stdout
    no_wait = actorium_cli("job", "submit", "--no-wait", "--", "sleep", "30", env=env)
    sleeping = re.search(r"Job '(\S+)' submitted", no_wait.stdout).group(1)
    stopped = actorium_cli("job", "stop", sleeping, env=env)
    assert "was stopped" in stopped.stdout, stopped.stdout + stopped.stderr
    wrong = actorium_cli("job", "status", "no-such-job", env=env)
    assert wrong.returncode == 1 and "does not exist" in wrong.stderr


# ---------------------------------------------------------------------- security
ROUTES = [("GET", "/api/version"), ("GET", "/api/jobs/"), ("GET", "/api/jobs/x"),
          ("GET", "/api/jobs/x/logs"), ("GET", "/api/jobs/x/logs/tail"),
          ("POST", "/api/jobs/x/stop"), ("DELETE", "/api/jobs/x"),
          ("GET", "/api/packages/pkg/" + "0" * 32 + ".zip"),
          ("PUT", "/api/packages/pkg/" + "0" * 32 + ".zip"), ("POST", "/api/jobs/")]


def http(url, method="GET", body=None, headers=None) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_every_job_route_refuses_a_missing_or_wrong_token_without_a_hint(cluster):
    token = cluster["token"]
    wrong_tokens = [None, "", "0" * 64, token[:-1], token[:32], token + "0", token.upper()]
    for method, path in ROUTES:
        for wrong in wrong_tokens:
            headers = {"Content-Type": "application/json"}
            if wrong is not None:
                headers["Authorization"] = f"Bearer {wrong}"
            status, text = http(cluster["url"] + path, method,
                                b"{}" if method in ("POST", "PUT") else None, headers)
            assert (status, json.loads(text)) == (401, {"error": "unauthorized"}), (method, path)
            assert token not in text


def test_unauthenticated_or_cross_site_submissions_run_nothing(client, cluster, tmp_path):
    canary = tmp_path / "canary"
    body = json.dumps({"entrypoint": f"touch {canary}"}).encode()
    url = cluster["url"] + "/api/jobs/"
    token = cluster["token"]
    attempts = [
        {"Content-Type": "application/json"},                                  # no token
        {"Content-Type": "application/json", "Authorization": "Bearer nope"},  # wrong token
        # What a page elsewhere could send: a simple form post, no custom header.
        {"Content-Type": "text/plain", "Origin": "http://evil.example",
         "Sec-Fetch-Site": "cross-site"},
        # Even carrying the token, a cross-site request or a non-JSON body is refused.
        {"Content-Type": "application/json", "Authorization": f"Bearer {token}",
         "Sec-Fetch-Site": "cross-site"},
        {"Content-Type": "application/json", "Authorization": f"Bearer {token}",
         "Origin": "http://evil.example"},
        {"Content-Type": "text/plain", "Authorization": f"Bearer {token}"},
        {"Content-Type": "application/x-www-form-urlencoded",
         "Authorization": f"Bearer {token}"},
    ]
    for headers in attempts:
        status, _text = http(url, "POST", body, headers)
        assert status in (401, 403, 415), headers
    # A legitimate job submitted after them has run; the refused ones never did.
    proof = tmp_path / "proof"
    job_id = client.submit_job(entrypoint=f"touch {proof}")
    assert wait_until_done(client, job_id).status is JobStatus.SUCCEEDED and proof.exists()
    assert not canary.exists()
    assert not any(f"touch {canary}" in job.entrypoint for job in client.list_jobs())


# ---------------------------------------------------------------------- shipping code
SHIPPED = """
    VALUE = "shipped to the other node"
"""


@actorium.remote(resources={"other": 1})
def on_the_other_node() -> tuple[str, str, str, str]:
    import shipped_module
    return (shipped_module.VALUE, actorium.get_runtime_context().get_node_id(),
            open("note.txt").read(), os.getcwd())


def test_working_dir_reaches_another_node_through_the_head(cluster, no_runtime, tmp_path):
    project = tmp_path / "code"
    write(project, "shipped_module.py", SHIPPED)
    write(project, "note.txt", "a note")
    actorium.init(address="auto", runtime_env={"working_dir": str(project)})
    try:
        value, node, note, cwd = actorium.get(on_the_other_node.remote(), timeout=60)
        head = actorium.get_runtime_context().get_node_id()
    finally:
        actorium.shutdown()
    assert (value, note) == ("shipped to the other node", "a note") and node != head
    assert cwd.startswith(str(cluster["root"] / "other"))   # unpacked there, by that node
    cluster_dir = cluster["root"] / "cluster"
    fetched = list(cluster_dir.glob("node-*/packages/*.zip"))
    assert fetched, ("the other node did not fetch the package from the head: "
                     f"{sorted(str(p) for p in cluster_dir.rglob('*'))}")


# ---------------------------------------------------------------------- the Jobs page
TICKER = """
    import os, time
    print("tick 1", flush=True)
    while not os.path.exists({gate!r}):
        time.sleep(0.05)
    print("tick 2 after the gate", flush=True)
    time.sleep(600)
"""


def test_the_jobs_page_lists_jobs_follows_a_log_and_stops_a_job(client, cluster, tmp_path):
    """In headless Chromium, as tests/test_dashboard_browser.py (CI requires the browser)."""
    executable = _browser_or_skip()
    from playwright.sync_api import expect

    gate = tmp_path / "gate"
    script = tmp_path / "ticker.py"
    script.write_text(textwrap.dedent(TICKER.format(gate=str(gate))))
    url, token = cluster["url"], cluster["token"]
    finished = client.submit_job(entrypoint="echo all done")
    eventually(lambda: client.get_job_status(finished).is_terminal(), timeout=60)
    running = client.submit_job(entrypoint=f"{sys.executable} {script}",
                                metadata={"purpose": "browser test"})
    ARTIFACTS.mkdir(exist_ok=True)
    with browser_page(executable) as (page, problems):
        # Without the token the page asks for it rather than showing anything.
        page.goto(f"{url}/#jobs")
        expect(page.locator("#page")).to_contain_text("needs the cluster token",
                                                      timeout=15_000)
        page.goto(f"{url}/?token={token}#jobs")
        expect(page.locator(f'tr[data-job="{finished}"]')).to_contain_text(
            "SUCCEEDED", timeout=15_000)
        row = page.locator(f'tr[data-job="{running}"]')
        expect(row).to_contain_text("RUNNING", timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / "dashboard-jobs.png"), full_page=True)

        row.locator("a").click()
        log = page.locator("#job-log")
        expect(log).to_contain_text("tick 1", timeout=30_000)
        assert "tick 2" not in log.inner_text()
        gate.touch()   # the job goes on; its log grows on the page by itself
        expect(log).to_contain_text("tick 2 after the gate", timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / "dashboard-job.png"), full_page=True)

        page.locator(f'[data-stop="{running}"]').click()
        expect(page.locator("#job-status")).to_contain_text("STOPPED", timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / "dashboard-job-stopped.png"),
                        full_page=True)
    assert client.get_job_status(running) is JobStatus.STOPPED
    # Some browser consoles report the refused, token-less first requests as errors.
    assert not [p for p in problems if "401" not in p], problems


# ---------------------------------------------------------------------- a head restart
def _head_pid(cluster_dir) -> int:
    for record in (cluster_dir / "nodes").iterdir():
        info = json.loads(record.read_text())
        if info.get("head_address"):
            return int(info["pid"])
    raise AssertionError("no head recorded")


def test_job_status_survives_a_restart_of_the_head_and_its_dashboard(no_runtime, tmp_path):
    cluster_dir = tmp_path / "restart"
    port = free_port()
    board = free_port()
    spec = [{"num_cpus": 1, "args": ["--port", str(port), "--dashboard-port", str(board)]}]
    with local_cluster(str(cluster_dir), spec) as started:
        env = started["env"]
        client = JobSubmissionClient()
        finished = client.submit_job(entrypoint="echo finished before the restart")
        wait_until_done(client, finished)
        running = client.submit_job(entrypoint="echo running; sleep 120")
        eventually(lambda: client.get_job_status(running) is JobStatus.RUNNING)
        head = _head_pid(cluster_dir)
        os.kill(head, signal.SIGKILL)        # the head and its dashboard crash
        eventually(lambda: not psutil.pid_exists(head), timeout=30)
        for record in (cluster_dir / "nodes").iterdir():
            record.unlink()
        again = subprocess.run(
            [sys.executable, "-m", "actorium.cli", "start", "--head", "--port", str(port),
             "--dashboard-port", str(board), "--num-cpus", "1"],
            env=env, text=True, capture_output=True, timeout=90)
        assert again.returncode == 0, again.stdout + again.stderr
        client = JobSubmissionClient()
        assert client.get_job_status(finished) is JobStatus.SUCCEEDED
        assert "finished before the restart" in client.get_job_logs(finished)
        assert client.get_job_status(running) is JobStatus.RUNNING   # it went on meanwhile
        assert client.stop_job(running) is True
        assert wait_until_done(client, running, timeout=30).status is JobStatus.STOPPED
        started["outputs"].append(again.stdout)
    time.sleep(0)   # local_cluster's exit stopped the restarted head
