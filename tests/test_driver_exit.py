"""A driver connected to a cluster owns its non-detached actors: they go when it goes.

Detached actors (``lifetime="detached"``) outlive it, whether it disconnects or is killed.
"""

from __future__ import annotations

import os
import subprocess
import sys

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
    done = subprocess.run([sys.executable, "-c", DRIVER.format(tag=tag, kill=kill)], env=env,
                          capture_output=True, text=True, timeout=60, check=False,
                          cwd=os.path.dirname(__file__))
    assert "ready" in done.stdout, done.stdout + done.stderr
    assert done.returncode == (-9 if kill else 0), done.stderr


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
