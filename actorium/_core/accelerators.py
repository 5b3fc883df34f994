"""Logical GPUs: how many a node has, which ids a task or actor was given, and what it sees.

``GPU`` is a resource like ``CPU`` (reserved on placement, released when the work ends), with
one more duty: the node hands each piece of work the *ids* of the GPUs it reserved, and the
worker sets ``CUDA_VISIBLE_DEVICES`` to them while the work runs, so that CUDA libraries in
the task or actor use those devices and no others. As in Ray:

* a node's GPUs are ``init(num_gpus=N)`` / ``actorium start --num-gpus N``, else those that
  ``nvidia-smi`` lists, restricted to the node's own ``CUDA_VISIBLE_DEVICES`` if it is set (the
  ids given out are then taken from that list, so nested restrictions compose);
* a request below 1 is a share of one GPU (several such tasks share an id); a request of 1 or
  more must be whole and gets that many distinct ids;
* a task's variable is set for the task and restored after it; an actor's for its lifetime.
  Task workers that ran GPU work are not reused (Ray's ``max_calls=1`` default for GPU tasks),
  because a CUDA context, once made, stays bound to the devices it saw.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable

GPU = "GPU"
VISIBLE_DEVICES = "CUDA_VISIBLE_DEVICES"
_EPSILON = 1e-9


def gpu_amount(demand: dict[str, float]) -> float:
    """How much GPU a demand asks for, whether plainly (``GPU``) or from a placement-group
    bundle (``GPU_group_G`` / ``GPU_group_i_G``, which carry the same amount)."""
    amount = demand.get(GPU, 0.0)
    for name, value in demand.items():
        if name.startswith("GPU_group_"):
            amount = max(amount, value)
    return amount


def check_gpu_request(name: str, value: float) -> None:
    """Ray's rule: a fraction of one GPU, or a whole number of them."""
    if value > 1 and abs(value - round(value)) > _EPSILON:
        raise ValueError(f"option {name}={value!r}: a request above 1 must be a whole number of "
                         f"GPUs (a fraction is only possible of a single GPU)")


def visible_ids_of_this_process() -> list[str] | None:
    """The ids in this process's ``CUDA_VISIBLE_DEVICES`` (None if it is not set)."""
    value = os.environ.get(VISIBLE_DEVICES)
    if value is None:
        return None
    return [part.strip() for part in value.split(",") if part.strip()]


def detect_gpu_count() -> int:
    """GPUs of this machine: ``nvidia-smi -L`` lines, capped by ``CUDA_VISIBLE_DEVICES``; 0
    where there is no ``nvidia-smi`` or it fails (no driver)."""
    binary = shutil.which("nvidia-smi")
    count = 0
    if binary is not None:
        try:
            listed = subprocess.run([binary, "-L"], capture_output=True, text=True, timeout=10,
                                    check=True).stdout
            count = sum(1 for line in listed.splitlines() if line.startswith("GPU "))
        except (OSError, subprocess.SubprocessError):
            count = 0
    visible = visible_ids_of_this_process()
    return count if visible is None else min(count, len(visible))


class GpuIds:
    """Which of a node's GPU ids are free, and how much of each (1.0 = all of it).

    ``take`` and ``give`` run on the node's loop only; ``take`` is all or nothing.
    """

    def __init__(self, count: float) -> None:
        whole = int(count + _EPSILON)
        visible = visible_ids_of_this_process()
        if visible is not None and len(visible) >= whole:
            ids = visible[:whole]
        else:
            ids = [str(i) for i in range(whole)]
        self.free: dict[str, float] = dict.fromkeys(ids, 1.0)

    def can_take(self, amount: float) -> bool:
        return amount <= 0 or self._pick(amount) is not None

    def take(self, amount: float) -> list[str] | None:
        """Ids for ``amount`` GPUs ([] for none; None if they are not free now)."""
        if amount <= 0:
            return []
        picked = self._pick(amount)
        if picked is None:
            return None
        share = min(amount, 1.0)
        for gpu in picked:
            self.free[gpu] -= share
        return picked

    def give(self, ids: list[str], amount: float) -> None:
        share = min(amount, 1.0)
        for gpu in ids:
            if gpu in self.free:
                self.free[gpu] = min(1.0, self.free[gpu] + share)

    def _pick(self, amount: float) -> list[str] | None:
        if amount < 1:
            # A share goes to the fullest GPU that still has room, so whole GPUs stay whole.
            fitting = [gpu for gpu, left in self.free.items() if left >= amount - _EPSILON]
            return [min(fitting, key=lambda gpu: self.free[gpu])] if fitting else None
        whole = [gpu for gpu, left in self.free.items() if left >= 1.0 - _EPSILON]
        wanted = int(round(amount))
        return whole[:wanted] if len(whole) >= wanted else None


def show_devices(ids: list[str] | None) -> Callable[[], None]:
    """Set ``CUDA_VISIBLE_DEVICES`` to ``ids`` and return what puts the old value back.

    Nothing changes for None or [] (as in Ray, work that reserved no GPU leaves the variable
    as the worker has it). Only for a process that runs one task at a time: the variable is
    process-wide.
    """
    if not ids:
        return _nothing
    before = os.environ.get(VISIBLE_DEVICES)
    os.environ[VISIBLE_DEVICES] = ",".join(ids)

    def restore() -> None:
        if before is None:
            os.environ.pop(VISIBLE_DEVICES, None)
        else:
            os.environ[VISIBLE_DEVICES] = before

    return restore


def _nothing() -> None:
    return None


def as_gpu_ids(ids: list[str]) -> list[int] | list[str]:
    """What ``get_gpu_ids()`` returns: ints when every id is a number (Ray's form)."""
    if all(gpu.isdigit() for gpu in ids):
        return [int(gpu) for gpu in ids]
    return list(ids)
