"""A driver connected to a cluster owns its non-detached actors: they go when it goes.

Detached actors (``lifetime="detached"``) outlive it, whether it disconnects or is killed.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import signal
import subprocess
import sys
import tempfile

import pytest
from cluster_helpers import local_cluster
from polling import eventually

import actorium

pytestmark = pytest.mark.timeout(120)

DRIVER = """
import os, signal, actorium
actorium.init(address="auto")

@actorium.remote
class Keeper:
    def ping(self):
        return "{tag}"

kept = Keeper.options(name="kept-{tag}", lifetime="detached").remote()
temp = Keeper.options(name="temp-{tag}").remote()
assert actorium.get([kept.ping.remote(), temp.ping.remote()]) == ["{tag}", "{tag}"]
print("ready", flush=True)
if {kill}:
    os.kill(os.getpid(), signal.SIGKILL)
actorium.shutdown()
"""


def run_driver(env: dict[str, str], tag: str, kill: bool) -> None:
    driver = subprocess.Popen([sys.executable, "-c", DRIVER.format(tag=tag, kill=kill)],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, cwd=os.path.dirname(__file__))
    try:
        stdout, stderr = driver.communicate(timeout=60)
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
        # A killed driver cannot remove its own (empty) session directory.
        root = pathlib.Path(tempfile.gettempdir()) / f"actorium-{os.getuid()}"
        for leftover in root.glob(f"s*-{driver.pid}-*"):
            shutil.rmtree(leftover, ignore_errors=True)
    assert "ready" in stdout, stdout + stderr
    assert driver.returncode == (-9 if kill else 0), stderr


def named(name: str) -> bool:
    try:
        actorium.get_actor(name)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("kill", [False, True], ids=["disconnects", "is_sigkilled"])
def test_a_driver_s_actors_go_with_it_and_detached_ones_stay(no_runtime, tmp_path, kill):
    with local_cluster(str(tmp_path), [{"num_cpus": 1}]) as started:
        tag = "killed" if kill else "left"
        run_driver(started["env"], tag, kill)
        actorium.init(address="auto")
        try:
            # A goodbye reaps at once; a killed driver is missed within seconds.
            eventually(lambda: not named(f"temp-{tag}"), timeout=20)
            kept = actorium.get_actor(f"kept-{tag}")
            assert actorium.get(kept.ping.remote(), timeout=20) == tag
            actorium.kill(kept)
        finally:
            actorium.shutdown()


SIGTERMED = """
import os, signal, time, actorium
actorium.init({address})
ref = actorium.put(b"x" * (4 << 20))          # in the driver's shared-memory store
print("ready", flush=True)
time.sleep(120)
"""


@pytest.mark.parametrize("embedded", [True, False], ids=["embedded", "connected"])
def test_a_sigtermed_driver_exits_as_on_ray_and_leaves_no_session_behind(no_runtime, tmp_path,
                                                                         embedded):
    # As Ray's init(): SIGTERM becomes sys.exit(15), so shutdown() runs at exit.
    def run(env: dict[str, str]) -> None:
        address = "" if embedded else 'address="auto"'
        driver = subprocess.Popen([sys.executable, "-c", SIGTERMED.format(address=address)],
                                  env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, cwd=os.path.dirname(__file__))
        try:
            assert driver.stdout is not None
            assert driver.stdout.readline().strip() == "ready", driver.stderr
            sessions = _session_dirs_of(driver.pid)
            assert sessions != []
            driver.send_signal(signal.SIGTERM)
            _, stderr = driver.communicate(timeout=60)
        finally:
            if driver.poll() is None:
                driver.kill()
                driver.wait()
        assert driver.returncode == 15, stderr
        assert _session_dirs_of(driver.pid) == []
        assert all(not os.path.exists(path) for path in sessions)

    if embedded:
        run(dict(os.environ))
    else:
        with local_cluster(str(tmp_path), [{"num_cpus": 1}]) as started:
            run(started["env"])


def _session_dirs_of(pid: int) -> list[str]:
    root = pathlib.Path(tempfile.gettempdir()) / f"actorium-{os.getuid()}"
    return [str(path) for path in root.glob(f"s*-{pid}-*")]
