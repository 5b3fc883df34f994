"""Ray's ``ray.actor`` path: ``from actorium.actor import ActorHandle, ActorClass, exit_actor``.

A thin public module over the facade, so ported imports keep working; nothing lives here.
"""

from actorium._api import exit_actor
from actorium._core.actor import ActorClass, ActorHandle, ActorMethod, method
from actorium._core.remote_types import ActorProxy

__all__ = ["ActorClass", "ActorHandle", "ActorMethod", "ActorProxy", "exit_actor", "method"]
