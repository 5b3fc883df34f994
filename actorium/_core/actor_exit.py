"""An actor's own exit: ``exit_actor()`` and ``sys.exit()`` inside one of its methods.

As in Ray, ``exit_actor()`` raises (a ``SystemExit``, so ``except Exception`` in user code does
not swallow it and ``finally`` blocks run): the rest of the method does not run, and the call
that exited fails with ``ActorDiedError``, like every later call. Actors share host processes
here, so ``sys.exit()`` ends the actor, not the process: with code 0 (or none) it is a normal
exit, like ``exit_actor()``; with any other code the actor crashed and is restarted if it has
``max_restarts`` left, again as Ray treats a worker that exits with an error code.
"""

from __future__ import annotations

from actorium.exceptions import ActorDiedError


class ActorExit(SystemExit):
    """Raised by ``exit_actor()`` (and made from ``sys.exit()``) inside an actor's method.

    ``reason`` says why, for the node and the dashboard; ``error`` is what the exiting call
    and every later one fail with; ``normal`` tells the node whether this is a chosen end
    (never restarted unsupervised) or a crash.
    """

    def __init__(self, label: str, actor_id: bytes, reason: str, *, normal: bool) -> None:
        super().__init__(0 if normal else 1)
        self.reason = reason
        self.error = ActorDiedError(f"actor {label} died: {reason}", actor_id=actor_id.hex())
        self.normal = normal
        self.told = False   # set once its actor's node was told (HostedActor.exiting)


def exit_from(label: str, actor_id: bytes, exc: SystemExit) -> ActorExit:
    """The ``ActorExit`` that ``exc``, raised by an actor's method, stands for."""
    if isinstance(exc, ActorExit):
        return exc
    code = exc.code
    shown = "" if code is None else repr(code)
    return ActorExit(label, actor_id, f"its method called sys.exit({shown})",
                     normal=code is None or code == 0)
