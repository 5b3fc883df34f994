"""Every example in examples/ runs as a user would run it, succeeds, and leaves no process.

Each example runs in a subprocess (``python examples/X.py`` at a small size). Every process it
starts inherits a marker in its environment, so the test can find the node and workers even
after they were re-parented, and checks that none is left once the example has exited (nor
its session directory under /tmp/actorium-<uid>/).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psutil
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = REPO_ROOT / "examples"
RUN_TIMEOUT = 45.0
MARKER = "ACTORIUM_EXAMPLE_TEST_RUN"


def _marked_processes(marker: str) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter():
        try:
            if process.environ().get(MARKER) == marker:
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def _leftovers(marker: str, grace: float = 3.0) -> list[psutil.Process]:
    """Processes of this run still alive after ``grace`` seconds (zombies do not count)."""
    deadline = time.monotonic() + grace
    while True:
        alive = []
        for process in _marked_processes(marker):
            try:
                if process.status() != psutil.STATUS_ZOMBIE:
                    alive.append(process)
            except psutil.NoSuchProcess:
                continue
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.1)


def _session_dirs_of(pid: int) -> list[str]:
    """Session directories a driver with this pid created (their names carry the pid)."""
    root = Path(tempfile.gettempdir()) / f"actorium-{os.getuid()}"
    return [str(d) for d in root.glob(f"s*-{pid}-*")] if root.is_dir() else []


def _describe(process: psutil.Process) -> str:
    try:
        return f"pid {process.pid}: {' '.join(process.cmdline()[:4])}"
    except psutil.Error:
        return f"pid {process.pid}"


def run_example(name: str, *args: str) -> str:
    """Run examples/<name> with ``args``; return its stdout after checking it exited cleanly."""
    marker = uuid.uuid4().hex
    env = {**os.environ, MARKER: marker}
    # Output goes to files, not pipes: a leaked grandchild holding a pipe open must not make
    # the example look as if it had not exited.
    with tempfile.TemporaryFile("w+") as stdout, tempfile.TemporaryFile("w+") as stderr:
        process = subprocess.Popen([sys.executable, str(EXAMPLES / name), *args],
                                   cwd=REPO_ROOT, env=env, stdout=stdout, stderr=stderr,
                                   text=True, start_new_session=True)
        timed_out = False
        try:
            process.wait(timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        finally:
            left = _leftovers(marker)
            described = [_describe(p) for p in left]
            for leftover in left:
                try:
                    leftover.kill()
                except psutil.NoSuchProcess:
                    pass
        stdout.seek(0)
        stderr.seek(0)
        out, err = stdout.read(), stderr.read()
    if timed_out:
        pytest.fail(f"{name} did not finish within {RUN_TIMEOUT} s\n{out}\n{err}")
    assert process.returncode == 0, f"{name} exited with {process.returncode}\n{out}\n{err}"
    assert not left, f"{name} left processes running: {described}"
    dirs = _session_dirs_of(process.pid)
    for directory in dirs:
        shutil.rmtree(directory, ignore_errors=True)
    assert not dirs, f"{name} left its session directory behind: {dirs}"
    return out


def test_digital_twins_summary() -> None:
    out = run_example("digital_twins.py", "--devices", "300", "--rounds", "5")
    assert re.search(r"^devices:\s+300$", out, re.M), out
    assert re.search(r"^telemetry messages:\s+1500$", out, re.M), out
    assert re.search(r"^messages/s:\s+[\d,]+$", out, re.M), out
    alerts = re.search(r"^alerts raised:\s+(\d+)$", out, re.M)
    assert alerts and int(alerts.group(1)) > 0, out
    assert re.search(r"^\s+overheating\s+\d+$", out, re.M), out
    assert re.search(r"^\s+low_battery\s+\d+$", out, re.M), out
    assert "top-5 hottest devices" in out
    assert len(re.findall(r"^\s+dev-\d{5}\s+ewma", out, re.M)) == 5, out
    assert re.search(r"^wall time:\s+[\d.]+ s", out, re.M), out


@pytest.mark.timeout(2 * RUN_TIMEOUT + 30)
def test_digital_twins_is_deterministic() -> None:
    def alerts(out: str) -> list[str]:
        return [line for line in out.splitlines() if "new alerts" in line or "ewma" in line]

    first = run_example("digital_twins.py", "--devices", "200", "--seed", "3")
    second = run_example("digital_twins.py", "--devices", "200", "--seed", "3")
    assert alerts(first) == alerts(second)


def test_quickstart() -> None:
    out = run_example("quickstart.py")
    assert "words per line: [4, 2, 3]" in out
    assert "running total: 9" in out
    assert "words in the book: 900" in out
    assert "first finished: 1 | still running: 2" in out
    assert "all squares: [9, 1, 4]" in out


def test_async_service() -> None:
    out = run_example("async_service.py")
    assert re.search(r"^serving on http://127\.0\.0\.1:\d+$", out, re.M), out
    assert "GET /page/home  -> 200 {'page': 'home', 'visits': 2}" in out
    assert "GET /fib/90     -> 200 {'n': 90, 'fib': 2880067194370816120}" in out
    assert "GET /stats      -> 200 {'home': 2, 'docs': 1}" in out
    assert "after a burst of 20: home visits = 22" in out


def test_sse_stream() -> None:
    out = run_example("sse_stream.py", "8")
    assert re.search(r"^serving on http://127\.0\.0\.1:\d+$", out, re.M), out
    assert ('finite stream: 8 events, first {"seq": 0, "celsius": 20.0}, '
            'last {"seq": 7, "celsius": 20.0}') in out
    assert "endless stream: read 3 events, then hung up" in out
    assert "streams still open in the sensor: 0" in out


def test_observability() -> None:
    out = run_example("observability.py")
    assert re.search(r"^dashboard: http://127\.0\.0\.1:\d+$", out, re.M), out
    assert "thermostat actors: 3 (kitchen, lab, office)" in out
    assert re.search(r"^failed tasks: 1 \(RuntimeError: no sensor in the cellar", out, re.M), out
    warm = re.search(r"^log lines about warm rooms: (\d+)$", out, re.M)
    assert warm and int(warm.group(1)) > 0, out
    assert re.search(r'^\(Thermostat pid=\d+ node=[0-9a-f]{8}\) lab: too warm at [\d.]+ C$',
                     out, re.M), out
    assert re.search(r'^metric: actorium_calls_total\{kind="actor",name="Thermostat"\} 30$',
                     out, re.M), out
    families = re.search(r"^/metrics serves (\d+) metric families$", out, re.M)
    assert families and int(families.group(1)) >= 10, out


def test_object_store() -> None:
    out = run_example("object_store.py", "--size", "1000")
    assert "writable: False" in out
    assert "ten tasks read the same copy: means match: True" in out
    assert "objects in the store: 1," in out
    assert "after dropping the ref: 0 objects, 0 bytes in use" in out
    assert re.search(r"[1-9][0-9.]* MiB kept for reuse", out), out
    assert "a view kept after its ref was dropped still reads its own bytes: True" in out
    assert re.search(r"six 1 MiB objects in a 3 MiB store: 2 in memory, 4 spilled", out), out
    assert "all restored on get: [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]" in out
    assert "OutOfMemoryError: the object store is full" in out


def test_supervised_twins_survive_crashes() -> None:
    out = run_example("supervised_twins.py", "--pumps", "4", "--readings", "200", "--crashes",
                      "3")
    assert "pumps: 4, readings per pump: 200, crashes injected: 3" in out
    assert re.search(r"^restarts by the supervisor: 3$", out, re.M), out
    assert len(re.findall(r"^\s+pump-\d\d\s+readings\s+200\s", out, re.M)) == 4, out
    assert "restored from checkpoint: yes" in out
    assert "every twin matches its readings: yes" in out
    assert "supervisor after the with block: stopped" in out


@pytest.mark.multiprocess
def test_cluster() -> None:
    out = run_example("cluster.py", "--nodes", "2", "--tasks", "300")
    assert re.search(r"^Started the actorium head at 127\.0\.0\.1:\d+ ", out, re.M), out
    assert len(re.findall(r"^Started an actorium node ", out, re.M)) == 2, out
    assert "nodes in the cluster: 3" in out
    assert "300 tasks ran on 3 nodes:" in out
    assert "every node ran tasks: True" in out
    assert len(set(re.findall(r"^  hello from node ([0-9a-f]{8})$", out, re.M))) == 3, out
    assert "alive actors per node (state API): [1, 1, 1]" in out
    assert "Stopped 3 actorium node process(es)." in out


# ---------------------------------------------------------------------- docs/libraries.md
def test_actor_pool_example() -> None:
    out = run_example("actor_pool.py", "--images", "8", "--actors", "2")
    assert "in order: ['thumb-0', 'thumb-1', 'thumb-2', 'thumb-3'] ..." in out
    assert "as they finished: same thumbnails: True" in out
    assert "from asyncio, in order: True" in out


@pytest.mark.multiprocess
def test_work_queue_example() -> None:
    out = run_example("work_queue.py", "--producers", "2", "--consumers", "2", "--jobs", "100")
    assert "sent 200 jobs; consumers took [" in out
    taken = re.search(r"consumers took \[(\d+), (\d+)\]", out)
    assert taken and int(taken[1]) + int(taken[2]) == 200, out
    assert "every job exactly once: True" in out


def test_app_metrics_example() -> None:
    out = run_example("app_metrics.py", "--requests", "12")
    assert 'shop_orders_total{shop="berlin",payment="card"} 6' in out
    assert 'shop_orders_total{shop="berlin",payment="cash"} 6' in out
    assert 'shop_checkout_ms_count{shop="berlin"} 12' in out
    assert re.search(r'^shop_open_baskets\{shop="berlin"\} 4$', out, re.M), out


def test_dag_pipeline_example() -> None:
    out = run_example("dag_pipeline.py")
    assert "a: 3 words, score 2\nb: 1 words, score 0\nc: 3 words, score 3\n" in out
    assert "the scorer saw 3 documents" in out
    assert "refused at bind(): tokenize: too many positional arguments" in out


def test_progress_bars_example() -> None:
    out = run_example("progress_bars.py", "--steps", "20")
    assert "finished: ['task 1', 'task 2', 10]" in out
    assert "task 1 is half way" in out and "task 2 is half way" in out


def test_the_libraries_page_shows_each_example_as_it_is() -> None:
    page = (REPO_ROOT / "docs" / "libraries.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", page, re.S)
    for name in ("actor_pool.py", "work_queue.py", "app_metrics.py", "dag_pipeline.py",
                 "progress_bars.py"):
        assert (EXAMPLES / name).read_text() in blocks, f"docs/libraries.md misses {name}"


def test_virtual_thermostats_passivate_and_come_back() -> None:
    out = run_example("virtual_thermostats.py", "--devices", "300")
    rounds = re.findall(r"^round \d: 300 readings, (\d+) alarms$", out, re.M)
    assert len(rounds) == 2, out
    assert "after the quiet: active 0, passivated 300, reminders left 0" in out
    back = re.search(r"^device-00000 is back \(activation (\d+)\): mean [\d.]+ C, (\d+) alarms; "
                     r"the first 50 devices were rechecked (\d+) times$", out, re.M)
    assert back is not None, out
    assert int(back.group(1)) >= 2          # a new activation, from the saved state
    assert int(back.group(3)) >= 1          # reminders fired while they were passivated


@pytest.mark.timeout(RUN_TIMEOUT + 30)
def test_jobs() -> None:
    out = run_example("jobs.py")
    assert re.search(r"^Started the actorium head at 127\.0\.0\.1:\d+ ", out, re.M), out
    assert re.search(r"^  \| 2 files, 24 words$", out, re.M), out     # streamed from the job
    assert "  | most common: the 4, a 3, actor 2" in out
    assert "  | language: en (greeting: hello)" in out                 # job and task env merged
    assert "status: SUCCEEDED, exit code 0" in out
    assert "its working_dir travelled as pkg://" in out
    assert re.search(r"^stopping actoriumsubmit_\w+: True$", out, re.M), out
    assert "status: STOPPED" in out
    assert "jobs on the cluster: ['STOPPED', 'SUCCEEDED']" in out


def test_placement_groups_capture_child_tasks() -> None:
    out = run_example("placement_groups.py")
    assert "child ran in group: True" in out
    assert "child that opted out: waited: no free CPU outside" in out
    assert "group: CREATED {0: {'CPU': 2.0}} FINISHED" in out


def test_fleet_timeline() -> None:
    out = run_example("fleet_timeline.py", "--twins", "120")
    assert "Twin actors: 120 (119 ALIVE, 1 DEAD)" in out, out
    assert "page 2 of the alive twins: 20 rows of 119" in out, out
    assert "event group: 120 Twin actors became alive" in out, out
    assert re.search(r"^timeline: 120 Twin\.report calls and 8 inspect tasks on \d+ worker",
                     out, re.M), out
    assert re.search(r"^trace written: timeline\.json, \d+ bytes$", out, re.M), out
