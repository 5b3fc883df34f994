"""``actorium.twins.Twin``: a virtual actor that is the digital twin of one device.

A twin holds two JSON documents: *reported* (what the device says it is) and *desired*
(what applications want it to be), each with its own version, and the *delta* between them
(what the device still has to apply). Every change is one transaction in the state store:
the twin's state, its row in the fleet index (what queries read) and an entry of its bounded
history (what watchers read). The change is durable before any hook runs.

Subclass it, decorate with ``@actorium.twins.twin``, override the hooks to react:

    @twins.twin(history=50)
    class Thermostat(twins.Twin):
        async def on_reported(self, change):
            if change.document["reported"].get("temp", 0) > 30:
                await self.desire({"fan": "on"})
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from typing import Any, TypeVar

from actorium._twins.change import Part, TwinChange
from actorium._twins.document import check_patch, delta, effective, merge
from actorium._twins.stores import twin_store
from actorium._virtual.actor import VirtualActor
from actorium._virtual.handle import VirtualActorClass, virtual
from actorium.exceptions import StaleActivationError

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class TwinOptions:
    """How a twin type behaves; ``@twin(...)`` takes these (and the virtual actor options
    ``type_name``, ``idle_timeout``, ``max_concurrency``).

    * ``history``: changes kept per twin (older ones are dropped as new ones are stored);
      default 100. Late watchers can resume from any version still in the history.
    """

    history: int = 100

    def __post_init__(self) -> None:
        if isinstance(self.history, bool) or not isinstance(self.history, int) or \
                self.history < 1:
            raise ValueError(f"history must be a positive int (changes kept per twin), got "
                             f"{self.history!r}")


def _empty() -> dict[str, Any]:
    return {"desired": {}, "reported": {}, "links": {}, "version": 0, "desired_version": 0,
            "reported_version": 0, "links_version": 0, "device_seq": None}


class Twin(VirtualActor):
    """The base class of twins (a ``VirtualActor`` whose ``state`` is the twin document).

    Remote methods (call them through ``Type.get(key).method.remote(...)``, or await them
    directly from the twin's own hooks):
    ``report(patch, *, seq=None)``, ``desire(patch)``, ``link(relation, key)``,
    ``document()``, ``delta()``, ``history(since_version=0, limit=None)``.
    Hooks (override, async): ``on_reported(change)``, ``on_desired(change)``.
    """

    __actorium_twin__: TwinOptions = TwinOptions()

    def __init__(self) -> None:
        self.state = _empty()

    # ------------------------------------------------------------------ hooks
    async def on_reported(self, change: TwinChange) -> None:
        """The device reported a change (already stored). A raise fails the ``report``
        call with that error; the change stays stored."""

    async def on_desired(self, change: TwinChange) -> None:
        """The desired state changed (already stored). A raise fails the ``desire`` call."""

    # ------------------------------------------------------------------ changes
    async def report(self, patch: dict[str, Any], *, seq: int | None = None) -> int:
        """Merge ``patch`` into the reported state (``None`` deletes a field); returns the
        twin's version after it. ``seq``: the device's own counter of its messages; a
        message with a ``seq`` at or below the last one applied is a duplicate (a resend
        after a lost acknowledgement) and changes nothing."""
        check_patch(patch, f"{self._label()}.report()")
        if seq is not None:
            if isinstance(seq, bool) or not isinstance(seq, int):
                raise TypeError(f"{self._label()}.report(): seq is an int, got {seq!r}")
            last = self._doc().get("device_seq")
            if last is not None and seq <= last:
                return int(self.state["version"])
        change = await self._apply(Part.REPORTED, patch, seq)
        if change is not None:
            await self.on_reported(change)
        return int(self.state["version"])

    async def desire(self, patch: dict[str, Any]) -> int:
        """Merge ``patch`` into the desired state; returns the twin's version after it."""
        check_patch(patch, f"{self._label()}.desire()")
        change = await self._apply(Part.DESIRED, patch, None)
        if change is not None:
            await self.on_desired(change)
        return int(self.state["version"])

    async def link(self, relation: str, key: str | None) -> int:
        """Point relationship ``relation`` (``"site"``, ``"gateway"``) at the twin ``key``
        (None removes it). Queries follow links with ``related(...)``."""
        from actorium._twins.query import Field
        Field(relation)   # the same names queries accept
        if key is not None and (not isinstance(key, str) or not key):
            raise ValueError(f"{self._label()}.link(): key is a twin key or None, got {key!r}")
        await self._apply(Part.LINKS, {relation: key}, None)
        return int(self.state["version"])

    # ------------------------------------------------------------------ reading
    async def document(self) -> dict[str, Any]:
        """The whole twin: ``desired``, ``reported``, ``delta``, ``links`` and versions."""
        return _public(self._doc())

    async def delta(self) -> dict[str, Any]:
        """What the device still has to apply: desired fields reported does not match."""
        state = self._doc()
        return delta(state["desired"], state["reported"])

    async def history(self, since_version: int = 0, limit: int | None = None
                      ) -> list[TwinChange]:
        """This twin's stored changes after ``since_version``, oldest first (at most the
        last ``history`` changes are kept)."""
        keep = self.__actorium_twin__.history
        cap = keep if limit is None else limit
        if isinstance(since_version, bool) or not isinstance(since_version, int) or \
                since_version < 0:
            raise ValueError(f"{self._label()}.history(): since_version is an int >= 0, got "
                             f"{since_version!r}")
        if isinstance(cap, bool) or not isinstance(cap, int) or cap < 1:
            raise ValueError(f"{self._label()}.history(): limit is an int >= 1 or None, got "
                             f"{limit!r}")
        activation = self._activation()
        return await twin_store(activation.store).history(activation.type_name, self.key,
                                                          since_version, cap, keep=keep)

    async def clear_state(self) -> None:
        """Forget the twin: its state, its row in the fleet index (queries no longer find
        it) and its history. The next call starts from an empty twin (version 0)."""
        await super().clear_state()
        activation = self._activation()
        await twin_store(activation.store).forget(activation.type_name, self.key)
        self.state = _empty()

    # ------------------------------------------------------------------ inside
    async def _apply(self, part: Part, patch: dict[str, Any], seq: int | None
                     ) -> TwinChange | None:
        """Store one change (all or nothing); None if the patch changes nothing."""
        activation = self._activation()
        current = self._doc()
        changed = effective(current[part.value], patch)
        if not changed and (seq is None or seq == current.get("device_seq")):
            return None
        new = dict(current)
        new[part.value] = merge(current[part.value], changed)
        if seq is not None:
            new["device_seq"] = seq
        if changed:
            new["version"] = current["version"] + 1
            new[f"{part.value}_version"] = current[f"{part.value}_version"] + 1
        new["updated"] = time.time()
        if not changed:   # only the device's counter moved: save it, record nothing
            self.state = new
            await self.save_state()
            return None
        entry = TwinChange(activation.type_name, self.key, new["version"], part,
                           new[f"{part.value}_version"], changed, _public(new),
                           new["updated"])
        data = json.dumps(new, separators=(",", ":")).encode()
        async with activation._save_lock:
            try:
                version, cursor = await twin_store(activation.store).commit(
                    entry, epoch=activation.epoch, state_version=activation.version, data=data,
                    history=self.__actorium_twin__.history)
            except StaleActivationError:
                activation.host.discard_soon(activation, "a newer activation owns its key")
                raise
            activation.version = version
            activation.saved_digest = hashlib.blake2b(data, digest_size=16).digest()
        self.state = new
        return dataclasses.replace(entry, cursor=cursor)

    def _doc(self) -> dict[str, Any]:
        """``self.state`` as a twin document (a subclass's ``__init__`` may have replaced it
        with a partial one): the missing parts filled in."""
        state = self.state if isinstance(self.state, dict) else {}
        for name, value in _empty().items():
            state.setdefault(name, value)
        self.state = state
        return state

    def _label(self) -> str:
        return f"{type(self).__qualname__}({getattr(self, 'key', '?')!r})"


def _public(state: dict[str, Any]) -> dict[str, Any]:
    """The document queries and watchers see (the device counter stays inside)."""
    return {"desired": state["desired"], "reported": state["reported"],
            "delta": delta(state["desired"], state["reported"]), "links": state["links"],
            "version": state["version"], "desired_version": state["desired_version"],
            "reported_version": state["reported_version"],
            "links_version": state["links_version"]}


# Methods of Twin that are not remote: hooks and internals.
_NOT_REMOTE = frozenset({"on_reported", "on_desired", "_apply", "_doc", "_label"})


def twin(cls: type[T] | None = None, /, *, history: int = 100,
         **virtual_options: Any) -> Any:
    """Declare a twin type: ``@twin`` or ``@twin(history=50, idle_timeout=30)``.

    The class must subclass ``Twin``. Returns a ``VirtualActorClass``: ``.get(key)`` is the
    handle of that device's twin. Its state is always stored as JSON (``state_format`` is
    not an option here).
    """
    if "state_format" in virtual_options:
        raise TypeError("twin(): state_format is not an option: a twin's state is always JSON "
                        "(that is what makes it queryable)")
    options = TwinOptions(history=history)
    declare_virtual = virtual(state_format="json", **virtual_options)

    def declare(target: type[T]) -> VirtualActorClass[T]:
        if not (isinstance(target, type) and issubclass(target, Twin)):
            raise TypeError(f"@twins.twin needs a subclass of actorium.twins.Twin, got "
                            f"{target!r}")
        target.__actorium_twin__ = options
        declared: VirtualActorClass[T] = declare_virtual(target)
        declared._methods = {name: info for name, info in declared._methods.items()
                             if name not in _NOT_REMOTE}
        return declared

    return declare(cls) if cls is not None else declare

