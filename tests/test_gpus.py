"""Logical GPUs: reserved and released like CPUs, and each task or actor sees its own ids.

Checked against Ray 2.60 on this machine (no real GPU: ``init(num_gpus=2)`` declares them):
GPU tasks get distinct ids and ``CUDA_VISIBLE_DEVICES`` set to them, shares below 1 pack onto
one id, a request of 1.5 is refused, a CPU task sees no GPU, a ``{"CPU": 1, "GPU": 1}`` bundle
is placed and its task gets a GPU id.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

import actorium
from actorium._core.accelerators import GpuIds, gpu_amount
from actorium.util import placement_group, remove_placement_group
from actorium.util.scheduling_strategies import PlacementGroupSchedulingStrategy
from tests.polling import eventually

pytestmark = pytest.mark.timeout(180)


@actorium.remote(num_gpus=1)
def gpu_task(hold: float = 0.0) -> tuple[list, str | None, dict, dict, int]:
    import time

    time.sleep(hold)
    context = actorium.get_runtime_context()
    return (actorium.get_gpu_ids(), os.environ.get("CUDA_VISIBLE_DEVICES"),
            context.get_accelerator_ids(), context.get_assigned_resources(), os.getpid())


@actorium.remote(num_gpus=0.5)
def half_gpu_task(hold: float) -> list:
    import time

    time.sleep(hold)
    return actorium.get_gpu_ids()


@actorium.remote
def cpu_task() -> tuple[list, str | None]:
    return actorium.get_gpu_ids(), os.environ.get("CUDA_VISIBLE_DEVICES")


@actorium.remote(num_gpus=1)
class GpuActor:
    def __init__(self) -> None:
        self.seen_at_start = os.environ.get("CUDA_VISIBLE_DEVICES")

    def ids(self) -> tuple[list, str | None, str | None]:
        return actorium.get_gpu_ids(), os.environ.get("CUDA_VISIBLE_DEVICES"), self.seen_at_start


@pytest.fixture
def two_gpus(start_runtime):
    return start_runtime(num_cpus=2, num_gpus=2)


def test_num_gpus_is_a_resource_of_the_cluster(two_gpus):
    assert actorium.cluster_resources()["GPU"] == 2.0
    assert actorium.available_resources()["GPU"] == 2.0
    assert actorium.get_gpu_ids() == []   # a driver holds none


def test_concurrent_gpu_tasks_get_distinct_ids_and_see_only_them(two_gpus):
    results = actorium.get([gpu_task.remote(1.0), gpu_task.remote(1.0)], timeout=120)
    ids = sorted(r[0][0] for r in results)
    assert ids == [0, 1]
    for gpu_ids, visible, accelerators, assigned, _pid in results:
        assert visible == str(gpu_ids[0])
        assert accelerators["GPU"] == [str(gpu_ids[0])]
        assert not any(ids for kind, ids in accelerators.items() if kind != "GPU")
        assert assigned == {"CPU": 1.0, "GPU": 1.0}


def test_gpu_task_workers_are_not_reused(two_gpus):
    first = actorium.get(gpu_task.remote(), timeout=120)
    second = actorium.get(gpu_task.remote(), timeout=120)
    assert first[4] != second[4]   # Ray's max_calls=1 default for GPU tasks


def test_cpu_task_sees_no_gpu(two_gpus):
    assert actorium.get(cpu_task.remote(), timeout=60) == ([], None)


def test_gpus_are_released_when_tasks_end(two_gpus):
    actorium.get([gpu_task.remote() for _ in range(4)], timeout=120)
    eventually(lambda: actorium.available_resources().get("GPU") == 2.0, timeout=30)


def test_a_third_gpu_task_waits_for_a_free_gpu(two_gpus):
    refs = [gpu_task.remote(2.0) for _ in range(3)]
    results = actorium.get(refs, timeout=120)
    assert sorted(r[0][0] for r in results[:2]) == [0, 1]
    assert results[2][0][0] in (0, 1)


def test_fractional_requests_share_one_gpu(two_gpus):
    # Two CPUs: both halves run at once, packed on one GPU as Ray packs them.
    ids = actorium.get([half_gpu_task.remote(1.5) for _ in range(2)], timeout=120)
    assert ids == [[0], [0]]


def test_a_gpu_actor_holds_its_gpu_for_its_lifetime(two_gpus):
    actor = GpuActor.remote()
    ids, visible, at_start = actorium.get(actor.ids.remote(), timeout=60)
    assert len(ids) == 1 and visible == at_start == str(ids[0])
    assert actorium.available_resources().get("GPU", 0.0) == 1.0
    # The other GPU is the only one left for a task.
    task_ids = actorium.get(gpu_task.remote(), timeout=60)[0]
    assert task_ids != ids
    actorium.kill(actor)
    eventually(lambda: actorium.available_resources().get("GPU") == 2.0, timeout=30)


def test_a_cpu_and_gpu_bundle_is_placed_and_its_task_gets_a_gpu(two_gpus):
    pg = placement_group([{"CPU": 1, "GPU": 1}])
    try:
        assert pg.wait(60)
        strategy = PlacementGroupSchedulingStrategy(pg, placement_group_bundle_index=0)
        gpu_ids, visible, _, assigned, _ = actorium.get(
            gpu_task.options(scheduling_strategy=strategy).remote(), timeout=60)
        assert len(gpu_ids) == 1 and visible == str(gpu_ids[0])
        assert assigned == {"CPU": 1.0, "GPU": 1.0}
    finally:
        remove_placement_group(pg)


def test_a_gpu_bundle_never_fits_a_node_without_gpus(start_runtime):
    start_runtime(num_cpus=2, num_gpus=0)
    assert "GPU" not in actorium.cluster_resources()
    with pytest.raises(ValueError, match="GPU"):
        placement_group([{"CPU": 1, "GPU": 1}])


def test_a_gpu_task_on_a_node_without_gpus_fails_naming_the_gpu(start_runtime):
    start_runtime(num_cpus=1, num_gpus=0)
    with pytest.raises(ValueError, match="GPU"):
        actorium.get(gpu_task.remote(), timeout=60)


@pytest.mark.parametrize("amount", [1.5, -1, "one"])
def test_bad_gpu_requests_are_refused_where_written(amount):
    with pytest.raises(ValueError, match="num_gpus"):
        gpu_task.options(num_gpus=amount)
    with pytest.raises(ValueError, match="num_gpus"):
        GpuActor.options(num_gpus=amount)


def test_init_refuses_a_bad_gpu_count():
    with pytest.raises(ValueError, match="num_gpus"):
        actorium.init(num_gpus=-1)
    assert not actorium.is_initialized()


# ---------------------------------------------------------------------- the id book-keeping
def test_whole_requests_take_whole_gpus_and_give_them_back():
    gpus = GpuIds(3)
    assert gpus.take(2) == ["0", "1"]
    assert gpus.take(2) is None and not gpus.can_take(2)
    assert gpus.take(0.25) == ["2"]
    assert gpus.take(1) is None   # the last one is partly used
    gpus.give(["0", "1"], 2)
    assert gpus.take(2) == ["0", "1"]


def test_ids_come_from_the_nodes_own_visible_devices(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")
    assert GpuIds(2).take(2) == ["3", "5"]


def test_bundle_names_count_as_gpus():
    assert gpu_amount({"CPU_group_ab": 1.0, "GPU_group_ab": 0.5, "GPU_group_0_ab": 0.5}) == 0.5
    assert gpu_amount({"CPU": 1.0}) == 0.0


def test_gpus_are_detected_with_nvidia_smi(tmp_path):
    fake = tmp_path / "nvidia-smi"
    fake.write_text("#!/bin/sh\necho 'GPU 0: Fake (UUID: GPU-a)'\n"
                    "echo 'GPU 1: Fake (UUID: GPU-b)'\n")
    fake.chmod(0o755)
    program = textwrap.dedent("""
        import actorium
        actorium.init(num_cpus=1, include_dashboard=False)
        print(actorium.cluster_resources().get("GPU"))
        actorium.shutdown()
    """)
    env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"}
    env.pop("CUDA_VISIBLE_DEVICES", None)
    out = subprocess.run([sys.executable, "-c", program], env=env, capture_output=True,
                         text=True, timeout=120, check=True)
    assert out.stdout.strip().splitlines()[-1] == "2.0"
