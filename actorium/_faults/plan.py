"""What to break: a fault plan, validated once, carried to every process of a runtime.

A plan is a seed plus a list of message faults. Each fault names an *action* (drop, delay,
duplicate, reorder, or kill the sending process just before or just after the message leaves),
the message *kinds* it applies to, which processes (*roles*) apply it, and how often: a
``share`` of the matching messages, or exactly the ``nth`` one of each process.

The plan travels as JSON in the ``ACTORIUM_FAULTS`` environment variable: the driver sets it
before ``init()``, the node inherits it and hands it to every worker it starts, so one plan
reaches every process without a control message on the hot path.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from actorium._transport.protocol import Kind

FAULTS_ENV = "ACTORIUM_FAULTS"

ACTIONS = ("drop", "delay", "duplicate", "reorder", "kill_before", "kill_after")
# Who sends: drivers, workers, node daemons, and the head service of a cluster (it runs in the
# head node's process, behind its own inbox and outbox: "node" does not reach its traffic).
ROLES = ("driver", "worker", "node", "head")

# Names for groups of kinds, as a test thinks of them. A *request* asks for work or an answer;
# a *reply* carries the answer back.
KIND_GROUPS: dict[str, tuple[Kind, ...]] = {
    "requests": (Kind.ACTOR_CALL, Kind.SUBMIT_TASK, Kind.EXECUTE_TASK, Kind.REQUEST,
                 Kind.GET_OBJECT),
    "replies": (Kind.TASK_RESULT, Kind.RESPONSE, Kind.OBJECT_VALUE),
    "actor_calls": (Kind.ACTOR_CALL,),
    "results": (Kind.TASK_RESULT,),
    "tasks": (Kind.SUBMIT_TASK, Kind.EXECUTE_TASK),
}


def resolve_kinds(kinds: str | Iterable[str | Kind]) -> tuple[Kind, ...]:
    """Turn group names ("requests"), kind names ("ACTOR_CALL") or ``Kind`` values into kinds."""
    if isinstance(kinds, (str, Kind)):
        kinds = [kinds]
    found: list[Kind] = []
    for item in kinds:
        if isinstance(item, Kind):
            found.append(item)
        elif isinstance(item, str) and item in KIND_GROUPS:
            found.extend(KIND_GROUPS[item])
        elif isinstance(item, str) and item.upper() in Kind.__members__:
            found.append(Kind[item.upper()])
        else:
            names = ", ".join([*KIND_GROUPS, *(k.name for k in Kind)])
            raise ValueError(f"unknown message kind {item!r}; use one of: {names}")
    if not found:
        raise ValueError("a message fault needs at least one message kind")
    return tuple(dict.fromkeys(found))


@dataclass(frozen=True)
class MessageFault:
    """One way to break messages of some kinds.

    ``share`` (0..1) of the matching messages each process sends are hit, chosen from the
    plan's seed; or, with ``nth``, exactly the n-th matching message (1-based) of each process.
    ``delay`` is the (min, max) seconds a delayed message waits; a reordered message is held
    back and sent after the next message to the same peer (or after ``delay[1]`` seconds).
    ``kill_before``/``kill_after`` SIGKILL the sending process just before/after the message
    leaves; they apply to workers only unless ``roles`` says otherwise (``roles=("head",)``
    kills the head node's process as its head service sends: the head dies with it).
    Other actions apply to every role by default, the head service's messages included.
    """

    action: str
    kinds: tuple[Kind | str, ...]   # names are turned into Kind values on creation
    share: float = 1.0
    nth: int | None = None
    delay: tuple[float, float] = (0.001, 0.05)
    roles: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"unknown fault action {self.action!r}; use one of {ACTIONS}")
        object.__setattr__(self, "kinds", resolve_kinds(self.kinds))
        if not isinstance(self.share, (int, float)) or not 0.0 <= self.share <= 1.0:
            raise ValueError(f"share must be a number from 0 to 1, got {self.share!r}")
        if self.nth is not None and (not isinstance(self.nth, int) or self.nth < 1):
            raise ValueError(f"nth must be a positive int (1 = the first message), "
                             f"got {self.nth!r}")
        low, high = self.delay
        if not 0.0 <= low <= high:
            raise ValueError(f"delay must be (min, max) seconds with 0 <= min <= max, "
                             f"got {self.delay!r}")
        roles = tuple(self.roles) or (("worker",) if self.action.startswith("kill") else ROLES)
        for role in roles:
            if role not in ROLES:
                raise ValueError(f"unknown role {role!r}; use one of {ROLES}")
        object.__setattr__(self, "roles", roles)
        object.__setattr__(self, "delay", (float(low), float(high)))


@dataclass(frozen=True)
class FaultPlan:
    """A seed and the message faults every process of the runtime applies.

    ``reliable`` turns on reliable delivery (``_transport/links``) in every process, above the
    faults: a dropped, doubled or overtaken message is then resent, de-duplicated and put back
    in order, as the runtime must survive on a network that loses messages.
    """

    faults: tuple[MessageFault, ...] = ()
    seed: int = 0
    reliable: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.seed, int):
            raise ValueError(f"seed must be an int, got {self.seed!r}")
        if not isinstance(self.reliable, bool):
            raise ValueError(f"reliable must be True or False, got {self.reliable!r}")
        for fault in self.faults:
            if not isinstance(fault, MessageFault):
                raise ValueError(f"a fault plan holds MessageFault values, got {fault!r}")
        object.__setattr__(self, "faults", tuple(self.faults))

    def to_json(self) -> str:
        return json.dumps({"seed": self.seed, "reliable": self.reliable, "faults": [
            {"action": f.action, "kinds": [getattr(k, "name", k) for k in f.kinds],
             "share": f.share, "nth": f.nth, "delay": list(f.delay), "roles": list(f.roles)}
            for f in self.faults]})

    @classmethod
    def from_json(cls, text: str) -> FaultPlan:
        data: dict[str, Any] = json.loads(text)
        faults = [MessageFault(action=f["action"], kinds=tuple(f["kinds"]), share=f["share"],
                               nth=f["nth"], delay=(f["delay"][0], f["delay"][1]),
                               roles=tuple(f["roles"]))
                  for f in data["faults"]]
        return cls(faults=tuple(faults), seed=data["seed"],
                   reliable=data.get("reliable", False))


def plan_from_environment() -> FaultPlan | None:
    """The plan this process was started with, or None (the normal case)."""
    text = os.environ.get(FAULTS_ENV)
    if not text:
        return None
    try:
        return FaultPlan.from_json(text)
    except (ValueError, KeyError, TypeError, IndexError) as error:
        raise ValueError(f"{FAULTS_ENV} does not hold a valid fault plan: {error}") from None


def faults_of(role: str, plan: FaultPlan) -> Sequence[MessageFault]:
    return [fault for fault in plan.faults if role in fault.roles]

