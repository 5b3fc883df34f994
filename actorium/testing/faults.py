"""Message faults from a test: ``with inject_faults(drop("requests", 0.25), seed=7): ...``.

The plan goes into the environment before the runtime starts, so the driver, the node and every
worker the node starts apply it (a worker started later inherits it too). It therefore has to
be in place *before* ``actorium.init()``; a runtime already running keeps sending normally, and
``inject_faults`` says so instead of pretending.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from actorium._api import is_initialized
from actorium._faults.plan import FAULTS_ENV, FaultPlan, MessageFault

Kinds = str | Iterable[str]
_Roles = tuple[str, ...]


def drop(kinds: Kinds, share: float = 1.0, *, nth: int | None = None,
         roles: _Roles = ()) -> MessageFault:
    """Lose ``share`` of the messages of ``kinds`` (or the ``nth`` of each process)."""
    return MessageFault("drop", _kinds(kinds), share=share, nth=nth, roles=roles)


def delay(kinds: Kinds, share: float = 1.0, *, seconds: tuple[float, float] = (0.001, 0.05),
          nth: int | None = None, roles: _Roles = ()) -> MessageFault:
    """Hold ``share`` of the messages of ``kinds`` back for a time drawn from ``seconds``."""
    return MessageFault("delay", _kinds(kinds), share=share, nth=nth, delay=seconds,
                        roles=roles)


def duplicate(kinds: Kinds, share: float = 1.0, *, nth: int | None = None,
              roles: _Roles = ()) -> MessageFault:
    """Send ``share`` of the messages of ``kinds`` twice."""
    return MessageFault("duplicate", _kinds(kinds), share=share, nth=nth, roles=roles)


def reorder(kinds: Kinds, share: float = 1.0, *, within: float = 0.05,
            nth: int | None = None, roles: _Roles = ()) -> MessageFault:
    """Let the next message to the same peer overtake ``share`` of the messages of ``kinds``.

    A held message goes out right after the next one to its peer, or after ``within`` seconds.
    """
    return MessageFault("reorder", _kinds(kinds), share=share, nth=nth, delay=(within, within),
                        roles=roles)


def kill_sender(kinds: Kinds, share: float = 1.0, *, nth: int | None = None,
                after: bool = False, roles: _Roles = ("worker",)) -> MessageFault:
    """SIGKILL the process sending a message of ``kinds``: just before it leaves (the
    message is lost with the process), or with ``after=True`` just after.

    ``kill_sender("results", nth=3)`` kills each worker as it sends its third result: the call
    ran, its result never arrives. Workers only, unless ``roles`` says otherwise.
    """
    action = "kill_after" if after else "kill_before"
    return MessageFault(action, _kinds(kinds), share=share, nth=nth, roles=roles)


def _kinds(kinds: Kinds) -> tuple[str, ...]:
    return (kinds,) if isinstance(kinds, str) else tuple(kinds)


@contextmanager
def inject_faults(*faults: MessageFault | FaultPlan, seed: int = 0,
                  reliable: bool = False) -> Iterator[FaultPlan]:
    """Apply message faults to the runtime started inside the block (enter before ``init()``).

    ``reliable=True`` also turns on reliable delivery in every process, above the faults:
    lost messages are resent, doubled ones dropped, overtaken ones put back in order (see
    docs/testing.md). Without it a dropped message stays lost.

    Yields the plan. Leaving the block restores the environment; shut the runtime down inside
    the block (its processes keep the plan as long as they live).
    Raises ``RuntimeError`` if a runtime is already running (it would not see the plan).
    """
    chosen: list[MessageFault] = []
    for item in faults:
        if isinstance(item, FaultPlan):
            chosen.extend(item.faults)
            seed = item.seed if seed == 0 else seed
            reliable = reliable or item.reliable
        elif isinstance(item, MessageFault):
            chosen.append(item)
        else:
            raise TypeError(f"inject_faults() takes MessageFault or FaultPlan values "
                            f"(from drop(), delay(), ...), got {type(item).__name__}")
    plan = FaultPlan(faults=tuple(chosen), seed=seed, reliable=reliable)
    if is_initialized():
        raise RuntimeError("inject_faults() must be entered before actorium.init(): the "
                           "running runtime's processes would not see the plan; call "
                           "actorium.shutdown() first")
    previous = os.environ.get(FAULTS_ENV)
    os.environ[FAULTS_ENV] = plan.to_json()
    try:
        yield plan
    finally:
        if previous is None:
            os.environ.pop(FAULTS_ENV, None)
        else:
            os.environ[FAULTS_ENV] = previous
