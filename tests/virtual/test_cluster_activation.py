"""Virtual actors across a cluster of node processes, with a real PostgreSQL store: one
activation per key under concurrent first calls from several nodes, placement by load,
reactivation elsewhere when a node dies, and after the head restarts."""

from __future__ import annotations

import os
import signal
import textwrap
import time

import pytest
from cluster_helpers import daemons, local_cluster
from pg_helpers import fresh_database

import actorium

pytestmark = [pytest.mark.multiprocess, pytest.mark.slow, pytest.mark.timeout(240)]


@actorium.virtual(type_name="Sensor", idle_timeout=60)
class Sensor(actorium.VirtualActor):
    async def record(self, value: float) -> int:
        self.state.setdefault("values", []).append(value)
        await self.save_state()
        return len(self.state["values"])

    async def home(self) -> tuple[str, int]:
        return actorium.get_runtime_context().get_node_id(), self.epoch


CONTENDER = textwrap.dedent("""
    import time
    import actorium
    from test_cluster_activation import Sensor
    actorium.init(address="auto")
    time.sleep(max(START - time.time(), 0))
    print("HOME", *actorium.get(Sensor.get("contended").home.remote(), timeout=60))
    actorium.shutdown()
""")


def test_one_activation_per_key_across_nodes_and_reactivation_after_node_death(
        tmp_path, no_runtime, monkeypatch, postgres_url, run_script):
    monkeypatch.setenv("ACTORIUM_STATE_STORE", fresh_database(postgres_url))
    nodes = [{"num_cpus": 1}, {"num_cpus": 1}, {"num_cpus": 1}]
    with local_cluster(str(tmp_path), nodes):
        actorium.init(address="auto")
        try:
            # Placement by load: 30 new keys spread over the nodes.
            homes = actorium.get([Sensor.get(f"s{i}").home.remote() for i in range(30)],
                                 timeout=120)
            per_node = actorium.util.state.summarize_virtual_actors()["per_node"]
            assert len({node for node, _ in homes}) == 3, per_node
            assert max(per_node.values()) - min(per_node.values()) <= 2, per_node
            # Concurrent first calls to a new key from drivers on this machine (each one
            # attached to a different node of the cluster) and from this driver.
            start = time.time() + 3.0
            script = CONTENDER.replace("START", repr(start))
            monkeypatch.setenv("PYTHONPATH", os.path.dirname(__file__) + os.pathsep +
                               os.environ.get("PYTHONPATH", ""))
            import concurrent.futures
            with concurrent.futures.ThreadPoolExecutor(3) as pool:
                others = [pool.submit(run_script, script, 120) for _ in range(2)]
                time.sleep(max(start - time.time(), 0))
                mine = actorium.get(Sensor.get("contended").home.remote(), timeout=60)
                outputs = [o.result() for o in others]
            answers = {tuple(mine)}
            for output in outputs:
                line = next(ln for ln in output.stdout.splitlines() if ln.startswith("HOME"))
                answers.add((line.split()[1], int(line.split()[2])))
            assert answers == {(mine[0], 1)}, (answers, [o.stderr[-2000:] for o in outputs])
            # A node dies: its keys come back on a survivor, with their saved state.
            head_node = actorium.nodes()[0]["NodeID"]
            index = next(i for i, (node, _) in enumerate(homes) if node != head_node)
            victim_key, victim_node = f"s{index}", homes[index][0]
            sensor = Sensor.get(victim_key)
            assert actorium.get(sensor.record.remote(1.5), timeout=60) == 1
            doomed = next(d for d in daemons(tmp_path) if d["node_id"] == victim_node)
            os.kill(doomed["pid"], signal.SIGKILL)
            deadline = time.monotonic() + 90
            # Until the head declares the node dead, its workers may still answer (they exit
            # when they notice their node is gone): wait for that, as every caller does.
            while victim_node in {n["NodeID"] for n in actorium.nodes() if n["Alive"]}:
                assert time.monotonic() < deadline, "the killed node was never marked dead"
                time.sleep(0.2)
            while True:
                try:
                    count = actorium.get(sensor.record.remote(2.5), timeout=60)
                    break
                except actorium.exceptions.ActorDiedError:
                    assert time.monotonic() < deadline, "the key never came back"
                    time.sleep(0.2)
            # Its saved state came along. A call that failed with ActorDiedError may have run
            # (and saved) on the dying node before its worker went: at most once, not lost.
            assert count in (2, 3)
            node, epoch = actorium.get(sensor.home.remote(), timeout=60)
            assert node != victim_node and epoch > 1
        finally:
            actorium.shutdown()


@actorium.virtual(type_name="Gauge", idle_timeout=600)
class Gauge(actorium.VirtualActor):
    async def home(self) -> tuple[str, int]:
        return actorium.get_runtime_context().get_node_id(), self.epoch

    async def remind(self, due: float) -> None:
        await self.set_reminder("calibrate", due=due)

    async def receive_reminder(self, reminder: actorium.Reminder) -> None:
        self.state["calibrated_by"] = self.epoch
        await self.save_state()

    async def read(self) -> dict:
        return dict(self.state)


AFTER_RESTART = textwrap.dedent("""
    import time
    import actorium
    from test_cluster_activation import Gauge
    actorium.init(address="auto")
    gauge = Gauge.get(KEY)
    print("HOME", *actorium.get(gauge.home.remote(), timeout=60))
    deadline = time.monotonic() + 60
    while "calibrated_by" not in actorium.get(gauge.read.remote(), timeout=60):
        assert time.monotonic() < deadline, "the reminder never fired"
        time.sleep(0.2)
    print("CALIBRATED", actorium.get(gauge.read.remote())["calibrated_by"])
    actorium.shutdown()
""")


def test_a_restarted_head_keeps_one_activation_per_key_and_fires_reminders(
        tmp_path, no_runtime, monkeypatch, run_script):
    from cluster_helpers import actorium_cli
    monkeypatch.setenv("ACTORIUM_STATE_STORE", f"sqlite:///{tmp_path}/state.sqlite3")
    monkeypatch.setenv("PYTHONPATH", os.path.dirname(__file__) + os.pathsep +
                       os.environ.get("PYTHONPATH", ""))
    with local_cluster(str(tmp_path), [{"num_cpus": 1}, {"num_cpus": 1}]) as started:
        token = started["outputs"][0].split("--token ")[1].split()[0]
        port = started["address"].rsplit(":", 1)[1]
        actorium.init(address="auto")
        try:
            head_node = actorium.nodes()[0]["NodeID"]
            homes = {key: actorium.get(Gauge.get(key).home.remote(), timeout=60)
                     for key in ("g0", "g1", "g2", "g3")}
            far = next(key for key, (node, _) in homes.items() if node != head_node)
            far_node, far_epoch = homes[far]
            actorium.get(Gauge.get(far).remind.remote(due=6.0), timeout=60)
            head = next(d for d in daemons(tmp_path) if d["session_dir"].endswith(
                f"head-{port}"))
            os.kill(head["pid"], signal.SIGKILL)
            # While the head is down the activation keeps serving callers that know it.
            assert tuple(actorium.get(Gauge.get(far).home.remote(), timeout=60)) == homes[far]
            restarted = actorium_cli("start", "--head", "--port", port, "--token", token,
                                     "--num-cpus", "1", "--no-dashboard", env=started["env"])
            assert restarted.returncode == 0, restarted.stdout + restarted.stderr
        finally:
            actorium.shutdown()
        # A new driver asks the new head for the key: it gets the activation that survived
        # (same node, same epoch), not a second one; the reminder fires there.
        found = run_script(AFTER_RESTART.replace("KEY", repr(far)), timeout=150)
        home = next(ln.split() for ln in found.stdout.splitlines() if ln.startswith("HOME"))
        assert (home[1], int(home[2])) == (far_node, far_epoch), found.stdout + found.stderr
        assert f"CALIBRATED {far_epoch}" in found.stdout, found.stdout + found.stderr
