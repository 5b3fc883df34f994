"""Ray's ``ray._raylet`` path, for the names Ray's documentation imports from it.

Ray's docs write ``from ray._raylet import ObjectRefGenerator`` (the streaming generator
guide); a ported program keeps that line with ``from actorium._raylet import ...``. Only the
ref and generator types live here, as re-exports of the core's own classes. Ray's binary id
classes (``ActorID``, ``TaskID``...) have no counterpart: ids are hex strings here (a
placement group's is ``PlacementGroupID``, a str with ``.hex()``), so asking for one says
where the id is instead of failing with a bare AttributeError.
"""

from __future__ import annotations

from typing import Any

from actorium._core.ref import ObjectRef
from actorium._core.streams import DynamicObjectRefGenerator, ObjectRefGenerator
from actorium.util.placement_group import PlacementGroupID

# Ray's older and alternative names for the same classes.
ObjectID = ObjectRef
StreamingObjectRefGenerator = ObjectRefGenerator

__all__ = ["DynamicObjectRefGenerator", "ObjectID", "ObjectRef", "ObjectRefGenerator",
           "PlacementGroupID", "StreamingObjectRefGenerator"]

_IDS = {
    "ActorID": "get_runtime_context().get_actor_id()",
    "TaskID": "get_runtime_context().get_task_id()",
    "NodeID": "get_runtime_context().get_node_id()",
    "JobID": "get_runtime_context().get_job_id()",
    "WorkerID": "get_runtime_context().get_worker_id()",
}


def __getattr__(name: str) -> Any:
    if name in _IDS:
        raise AttributeError(f"actorium._raylet has no {name}: ids are hex strings in actorium "
                             f"(use {_IDS[name]}, and compare strings)")
    raise AttributeError(f"module 'actorium._raylet' has no attribute {name!r}")
