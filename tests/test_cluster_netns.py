"""A cluster over real separate network stacks: a head and two nodes in network namespaces.

One node is cut off (its link goes down), the other's node daemon is killed with SIGKILL. The
head must mark both dead, restartable actors must come back on the surviving host, calls and
tasks in flight must fail or complete, and nothing may hang. Root only (``ip netns``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest
from netns_helpers import Hosts, why_unavailable

pytestmark = [pytest.mark.multiprocess, pytest.mark.slow, pytest.mark.timeout(300)]

_REASON = why_unavailable() if sys.platform == "linux" else "needs Linux network namespaces"
if _REASON is not None:
    pytest.skip(_REASON, allow_module_level=True)

PORT = 6390

# The driver runs on the head's host and talks with the test line by line on stdin/stdout.
DRIVER = textwrap.dedent("""
    import json, sys, time
    import actorium
    from actorium.util.scheduling_strategies import NodeAffinitySchedulingStrategy as On

    def say(**fields):
        print(json.dumps(fields), flush=True)

    actorium.init(address="auto")

    @actorium.remote
    class Home:
        def where(self):
            return actorium.get_runtime_context().get_node_id()
        def slow(self, seconds):
            time.sleep(seconds)
            return "finished"

    @actorium.remote(max_retries=3)
    def nap(seconds):
        time.sleep(seconds)
        return actorium.get_runtime_context().get_node_id()

    nodes = {n["NodeID"]: n for n in actorium.nodes()}
    by_ip = {n["NodeManagerAddress"]: node_id for node_id, n in nodes.items()}
    head, cut, killed = (by_ip[ip] for ip in sys.argv[1:4])
    restartable = {name: Home.options(max_restarts=1, scheduling_strategy=On(node)).remote()
                   for name, node in (("cut", cut), ("killed", killed))}
    mortal = {name: Home.options(scheduling_strategy=On(node)).remote()
              for name, node in (("cut", cut), ("killed", killed))}
    homes = {name: actorium.get(a.where.remote(), timeout=60) for name, a in restartable.items()}
    assert homes == {"cut": cut, "killed": killed}, homes
    for actor in mortal.values():
        actorium.get(actor.where.remote(), timeout=60)
    in_flight = {name: a.slow.remote(120) for name, a in mortal.items()}
    tasks = [nap.options(scheduling_strategy="SPREAD").remote(2) for _ in range(6)]
    say(ready=True, head=head, cut=cut, killed=killed)

    sys.stdin.readline()          # the test cut one host off and killed the other's node
    started = time.monotonic()
    while {cut, killed} & {n["NodeID"] for n in actorium.nodes() if n["Alive"]}:
        time.sleep(0.1)
    marked_dead_after = time.monotonic() - started

    outcomes = {}
    for name, ref in in_flight.items():
        try:
            outcomes[name] = actorium.get(ref, timeout=90)
        except actorium.exceptions.ActoriumError as exc:
            outcomes[name] = type(exc).__name__
    task_outcomes = []
    for ref in tasks:
        try:
            task_outcomes.append(actorium.get(ref, timeout=90))
        except actorium.exceptions.ActoriumError as exc:
            task_outcomes.append(type(exc).__name__)
    back = {}
    for name, actor in restartable.items():
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                back[name] = actorium.get(actor.where.remote(), timeout=30)
                break
            except actorium.exceptions.ActorDiedError:
                time.sleep(0.2)   # a call sent to the dead incarnation fails, once
    say(marked_dead_after=marked_dead_after, in_flight=outcomes, tasks=task_outcomes,
        back=back, alive=sorted(n["NodeID"] for n in actorium.nodes() if n["Alive"]))
    actorium.shutdown()
""")


@pytest.fixture
def hosts(tmp_path):
    made = Hosts(["head", "cut", "killed"])
    try:
        made.create()
        yield made
    finally:
        made.destroy()   # kills everything left in the namespaces, always


def cli(hosts: Hosts, host: str, cluster_dir: str, *args: str) -> str:
    env = dict(os.environ, ACTORIUM_CLUSTER_DIR=cluster_dir)
    env.pop("ACTORIUM_CLUSTER_TOKEN", None)
    done = subprocess.run(hosts.command(host, [sys.executable, "-m", "actorium.cli", *args]),
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_a_cut_off_and_a_killed_node_are_marked_dead_and_actors_come_back(hosts, tmp_path):
    dirs = {host: str(tmp_path / host) for host in hosts.names}
    head_ip = hosts.address("head")
    started = cli(hosts, "head", dirs["head"], "start", "--head", "--port", str(PORT),
                  "--node-ip-address", head_ip, "--num-cpus", "2", "--no-dashboard")
    token = started.split("--token ")[1].split()[0]
    for host in ("cut", "killed"):
        cli(hosts, host, dirs[host], "start", "--address", f"{head_ip}:{PORT}", "--token",
            token, "--node-ip-address", hosts.address(host), "--num-cpus", "1")
    env = dict(os.environ, ACTORIUM_CLUSTER_DIR=dirs["head"])
    driver = subprocess.Popen(
        hosts.command("head", [sys.executable, "-c", DRIVER, head_ip, hosts.address("cut"),
                               hosts.address("killed")]),
        env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    try:
        ready = json.loads(driver.stdout.readline() or "{}")
        assert ready.get("ready"), driver.stderr.read() if driver.poll() is not None else ready
        hosts.cut_off("cut")
        killed_node = _node_pid(dirs["killed"])
        os.kill(killed_node, signal.SIGKILL)
        driver.stdin.write("go\n")
        driver.stdin.flush()
        line = driver.stdout.readline()
        assert line, driver.stderr.read()
        report = json.loads(line)
        driver.wait(timeout=60)
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
        for stream in (driver.stdin, driver.stdout, driver.stderr):
            stream.close()
    print("netns: nodes marked dead after", round(report["marked_dead_after"], 2), "s")
    # Failure detection takes 3 s without heartbeats; allow for a loaded machine.
    assert report["marked_dead_after"] < 30
    assert report["alive"] == [ready["head"]]
    # Calls in flight to actors that cannot restart fail; they never hang.
    assert report["in_flight"] == {"cut": "ActorDiedError", "killed": "ActorDiedError"}
    # Tasks spread over the three hosts finish (retried on the survivor) or fail, all of them.
    assert len(report["tasks"]) == 6
    assert all(t == ready["head"] or t in (ready["cut"], ready["killed"]) or t.endswith("Error")
               for t in report["tasks"])
    assert report["back"] == {"cut": ready["head"], "killed": ready["head"]}
    assert driver.returncode == 0


def _node_pid(cluster_dir: str) -> int:
    (record,) = os.listdir(os.path.join(cluster_dir, "nodes"))
    with open(os.path.join(cluster_dir, "nodes", record)) as file:
        return int(json.load(file)["pid"])
