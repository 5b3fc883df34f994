"""Streams across the nodes of a cluster, and the producer's node dying mid-stream.

The producer runs on a node of its own (a custom resource only that node has); its items go
straight to the driver on the head node. When that node is killed, the items the driver
already has stay readable, and the next one raises: ``ActorDiedError`` for an actor's
generator (as on Ray 2.60, checked with its ``cluster_utils.Cluster``), ``NodeDiedError``
for a task's without retries left, as Ray raises for a task whose node died. A restartable
actor with ``max_task_retries`` streams on from where it is restarted, every index once (as
on Ray).
"""

from __future__ import annotations

import signal
from pathlib import Path

import psutil
import pytest
from cluster_helpers import daemons, local_cluster

import actorium
from actorium.exceptions import ActorDiedError, NodeDiedError, WorkerCrashedError
from actorium.util.scheduling_strategies import NodeAffinitySchedulingStrategy

pytestmark = [pytest.mark.multiprocess, pytest.mark.slow, pytest.mark.timeout(240)]

NODES = [{"num_cpus": 1}, {"num_cpus": 1, "resources": '{"far": 1}'}]


@actorium.remote
class Far:
    def node(self) -> str:
        return actorium.get_runtime_context().get_node_id()

    def readings(self, n: int | None = None):
        node = actorium.get_runtime_context().get_node_id()
        i = 0
        while n is None or i < n:
            yield node, i
            i += 1


@actorium.remote
def far_readings():
    node = actorium.get_runtime_context().get_node_id()
    i = 0
    while True:
        yield node, i
        i += 1


@pytest.fixture
def cluster(tmp_path, no_runtime):
    with local_cluster(str(tmp_path), NODES):
        actorium.init(address="auto")
        try:
            yield tmp_path
        finally:
            actorium.shutdown()


def _kill_node(cluster_dir: Path, node_id: str) -> None:
    """The node's machine dies: its daemon and every process it started, at once (a worker
    whose daemon alone was killed would stream on until it noticed)."""
    daemon = next(d for d in daemons(str(cluster_dir)) if d["node_id"] == node_id)
    node = psutil.Process(daemon["pid"])
    for process in [node, *node.children(recursive=True)]:
        try:
            process.send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess:
            pass


def _read_until_it_raises(gen, error: type[BaseException]) -> int:
    """Read on (items made before the node died may still arrive); the count read."""
    read = 0
    with pytest.raises(error):
        for ref in gen:
            actorium.get(ref, timeout=120)
            read += 1
    return read


def test_an_actor_on_another_node_streams_to_the_driver(cluster):
    here = actorium.get_runtime_context().get_node_id()
    far = Far.options(resources={"far": 0.1}).remote()
    # A limit below the item count: the acks cross the nodes too.
    gen = far.readings.options(_generator_backpressure_num_objects=8).remote(200)
    values = [actorium.get(ref) for ref in gen]
    assert [i for _node, i in values] == list(range(200))
    assert {node for node, _i in values} == {actorium.get(far.node.remote())} != {here}


def test_the_producers_node_dying_fails_the_next_item_with_actor_died(cluster):
    far = Far.options(resources={"far": 0.1}).remote()
    far_node = actorium.get(far.node.remote())
    gen = far.readings.options(_generator_backpressure_num_objects=4).remote()
    assert [actorium.get(next(gen)) for _ in range(3)] == [(far_node, 0), (far_node, 1),
                                                           (far_node, 2)]
    _kill_node(cluster, far_node)
    _read_until_it_raises(gen, ActorDiedError)
    with pytest.raises(StopIteration):
        next(gen)


def test_a_task_streaming_from_a_node_that_dies_fails_with_node_died(cluster):
    gen = far_readings.options(resources={"far": 0.1}, max_retries=0,
                               _generator_backpressure_num_objects=4).remote()
    far_node, first = actorium.get(next(gen))
    assert first == 0
    assert far_node != actorium.get_runtime_context().get_node_id()
    _kill_node(cluster, far_node)
    with pytest.raises(NodeDiedError, match="no retries left") as info:
        for ref in gen:     # items made before the node died may still arrive
            actorium.get(ref, timeout=120)
    assert not isinstance(info.value, WorkerCrashedError)   # as Ray's: a RayError


def test_a_restartable_actors_stream_goes_on_from_a_survivor_when_its_node_dies(cluster):
    # max_task_retries: the call is run again by the actor restarted on the head node, and the
    # driver hands out every index once (the first items from the dead node, the rest anew).
    nodes = {n["NodeID"] for n in actorium.nodes() if n["Alive"]}
    here = actorium.get_runtime_context().get_node_id()
    (far_node,) = nodes - {here}
    strategy = NodeAffinitySchedulingStrategy(node_id=far_node, soft=True)
    far = Far.options(max_restarts=1, max_task_retries=1, scheduling_strategy=strategy).remote()
    gen = far.readings.options(_generator_backpressure_num_objects=4).remote(50)
    first = [actorium.get(next(gen)) for _ in range(3)]
    assert first == [(far_node, 0), (far_node, 1), (far_node, 2)]
    _kill_node(cluster, far_node)
    rest = [actorium.get(ref, timeout=120) for ref in gen]
    assert [i for _node, i in first + rest] == list(range(50))
    assert rest[-1][0] == here
