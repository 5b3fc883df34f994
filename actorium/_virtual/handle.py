"""``@actorium.virtual`` classes and their handles: ``Thermostat.get("device-17")``.

``get(key)`` costs nothing: it computes the actor id from the type name and the key (the same
in every process, so every process's handle names the same actor) and returns an
``ActorHandle``. No message leaves until the first call, which activates the key.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar, overload

import cloudpickle

from actorium._core import context
from actorium._core.actor import ActorClass, ActorHandle
from actorium._core.options import ActorOptions
from actorium._core.values import check_not_in_loop
from actorium._virtual.actor import BASE_NAMES, VirtualActor
from actorium._virtual.caller import VirtualCallers
from actorium._virtual.options import VirtualOptions
from actorium._virtual.stores.base import Reminder

T = TypeVar("T")

# Classes unpickled in this process, by content id: handles sent in many messages carry the
# class's bytes, but it is loaded (and its method table built) once.
_loaded: dict[bytes, VirtualActorClass[Any]] = {}
_loaded_lock = threading.Lock()


def virtual_actor_id(type_name: str, key: str) -> bytes:
    """The 16-byte actor id of (type, key): the same in every process of every run."""
    return hashlib.blake2b(f"{type_name}\x00{key}".encode(), digest_size=16,
                           person=b"actorium-virt").digest()


class VirtualActorClass(Generic[T]):
    """A virtual actor type: ``.get(key)`` returns the handle of that key's actor.

    Declared with ``@actorium.virtual`` on a subclass of ``actorium.VirtualActor``. Calling the
    class directly or ``.remote()`` is an error: virtual actors are never created, they exist.
    """

    def __init__(self, cls: type[T], options: VirtualOptions) -> None:
        if not (isinstance(cls, type) and issubclass(cls, VirtualActor)):
            raise TypeError(f"@actorium.virtual needs a subclass of actorium.VirtualActor, got "
                            f"{cls!r}")
        init = cls.__dict__.get("__init__")
        if init is not None and init.__code__.co_argcount > 1:
            raise TypeError(f"{cls.__qualname__}.__init__ must take no arguments besides self: "
                            f"a virtual actor is activated by its key, never constructed with "
                            f"arguments (keep what it needs in self.state)")
        self._cls = cls
        self._options = options
        self.type_name = options.type_name or cls.__qualname__
        # The actor machinery of ordinary actors checks the method signatures and ships the
        # class; the base class's own helpers are not remote methods.
        self._actor_class = ActorClass(cls, ActorOptions())
        retried = sorted(self._actor_class._method_retries)
        if retried:
            raise ValueError(
                f"@actorium.method(retry_exceptions=...) is not implemented for virtual actors "
                f"({cls.__qualname__}.{', '.join(retried)}): a virtual actor has no "
                f"max_task_retries; catch the exception and call again from the caller")
        self._methods = {name: info for name, info in self._actor_class._methods.items()
                         if name not in BASE_NAMES or name == "receive_reminder"}
        self._wire = {**options.to_wire(), "type_name": self.type_name}
        self.__name__ = cls.__name__
        self.__qualname__ = cls.__qualname__
        self.__module__ = cls.__module__
        self.__doc__ = cls.__doc__

    @property
    def options(self) -> VirtualOptions:
        return self._options

    @property
    def method_events(self) -> dict[str, bool] | None:
        """The methods whose ``@actorium.method(enable_task_events=...)`` says whether their
        calls go into the timeline and the state API (None: every call does)."""
        return dict(self._actor_class._method_events) or None

    def get(self, key: str) -> ActorHandle[T]:
        """The handle of the actor with this key (never blocks, sends nothing).

        The first call through it activates the actor somewhere in the cluster (loading its
        saved state), wherever it was last; ``key`` is any non-empty string.
        """
        if not isinstance(key, str):
            raise TypeError(f"a virtual actor key is a str, got {type(key).__name__} {key!r}")
        if not key or "\x00" in key:
            raise ValueError(f"a virtual actor key must be a non-empty string without NUL, got "
                             f"{key!r}")
        runtime = context.current_runtime()
        actor_id = virtual_actor_id(self.type_name, key)
        state = runtime.actor_state(actor_id, f"{self.type_name}({key!r})")
        if state.virtual is None:
            code_id, code = self._actor_class._code.pickled()
            VirtualCallers.of(runtime).caller(state, type_name=self.type_name, key=key,
                                              code_id=code_id, code=code, options=self._wire)
        return VirtualActorHandle(self, key, actor_id, state)

    def reminders(self, key: str | None = None) -> list[Reminder]:
        """The durable reminders of this type (of one key if given), soonest first. Blocks
        (a question to the node, which reads the state store); not for a running event loop."""
        check_not_in_loop(f"{self.__name__}.reminders()")
        rows = context.current_runtime().request("virtual_reminders", self.type_name, key,
                                                 100_000)
        return [Reminder(**row) for row in rows]

    def cancel_reminder(self, key: str, name: str) -> bool:
        """Delete reminder ``name`` of ``key``; False if there was none. Blocks, like
        ``reminders()``."""
        check_not_in_loop(f"{self.__name__}.cancel_reminder()")
        cancelled: bool = context.current_runtime().request("virtual_cancel_reminder",
                                                            self.type_name, key, name)
        return cancelled

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(f"virtual actor class {self.type_name} is not instantiated: use "
                        f"{self.__name__}.get(key) for the handle of a key's actor")

    def remote(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(f"virtual actors are not created with .remote(): use "
                        f"{self.__name__}.get(key); the first call activates it")

    def code(self) -> tuple[bytes, bytes]:
        """(content id, pickled class): what workers load."""
        return self._actor_class._code.pickled()

    def __repr__(self) -> str:
        return f"<virtual actor class {self.type_name}>"

    def __reduce__(self) -> tuple[Any, ...]:
        code_id, code = self.code()
        return (_rebuild_class, (code_id, code, self._options))


def _rebuild_class(code_id: bytes, code: bytes, options: VirtualOptions) -> VirtualActorClass[Any]:
    found = _loaded.get(code_id)
    if found is None:
        with _loaded_lock:
            found = _loaded.get(code_id)
            if found is None:
                found = _loaded[code_id] = VirtualActorClass(cloudpickle.loads(code), options)
    return found


class VirtualActorHandle(ActorHandle[T]):
    """The handle of one virtual actor: an ``ActorHandle`` that pickles as (type, key).

    Pass it to tasks and actors, keep it in a dict, send it to another machine: wherever it is
    unpickled it names the same actor, and its first call there finds the activation.
    """

    def __init__(self, virtual_class: VirtualActorClass[T], key: str, actor_id: bytes,
                 state: Any) -> None:
        super().__init__(actor_id, virtual_class.type_name, virtual_class._methods, state)
        self._virtual_class = virtual_class
        self._key = key

    @property
    def key(self) -> str:
        return self._key

    @property
    def type_name(self) -> str:
        return self._virtual_class.type_name

    def __repr__(self) -> str:
        return f"VirtualActor({self._virtual_class.type_name}, {self._key!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_handle, (self._virtual_class, self._key))


def _rebuild_handle(virtual_class: VirtualActorClass[Any], key: str) -> ActorHandle[Any]:
    return virtual_class.get(key)


@overload
def virtual(cls: type[T], /) -> VirtualActorClass[T]: ...
@overload
def virtual(**options: Any) -> Callable[[type[T]], VirtualActorClass[T]]: ...


def virtual(cls: type[T] | None = None, /, **options: Any) -> Any:
    """Declare a virtual actor type: ``@actorium.virtual`` or ``@virtual(idle_timeout=30)``.

    The class must subclass ``actorium.VirtualActor``; options are those of ``VirtualOptions``
    (an unknown one is a TypeError). Returns a ``VirtualActorClass``: ``.get(key)`` for handles.
    """
    parsed = VirtualOptions.build(**options)

    def declare(target: type[T]) -> VirtualActorClass[T]:
        declared = VirtualActorClass(target, parsed)   # checks the class first
        # Workers read the options from the class itself (also when a reminder activates a
        # type no live process has declared).
        target.__actorium_virtual__ = parsed   # type: ignore[attr-defined]
        return declared

    if cls is not None:
        return declare(cls)
    return declare
