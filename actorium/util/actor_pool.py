"""``ActorPool``: spread work over a fixed set of actors (Ray's ``ray.util.ActorPool``).

The pool hands each value to an idle actor through a function ``fn(actor, value)`` that
returns the ref of the call it made; an actor is busy until its result has been *taken* from
the pool (``get_next`` and friends), then it gets the next waiting value. Values submitted
while every actor is busy wait in the pool, in submission order.

Ordering and timeouts follow Ray: ``get_next`` returns results in submission order,
``get_next_unordered`` whichever finishes first; a timeout raises ``TimeoutError`` and leaves
the result in the pool (unless ``ignore_if_timedout``, which drops it and frees its actor).
An actor whose call failed with ``ActorDiedError`` leaves the pool for good; any other error
is raised to the caller and the actor goes back to work.

The ``*_async`` forms do the same from a coroutine without blocking the event loop. A pool is
not thread-safe: use it from one thread (or one event loop) at a time.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from typing import Any

from actorium import _api
from actorium._core.ref import ObjectRef
from actorium._core.values import check_not_in_loop
from actorium.exceptions import ActorDiedError, GetTimeoutError

__all__ = ["ActorPool"]

Submit = Callable[[Any, Any], Any]


class ActorPool:
    """A fixed set of actors that work through submitted values, one call per actor at a time.

    ``fn(actor, value)`` must call the actor and return the ObjectRef (or list of refs, for
    ``num_returns > 1``) of that call.
    """

    def __init__(self, actors: Iterable[Any]) -> None:
        self._idle: list[Any] = list(actors)
        self._busy: dict[int, Any] = {}           # submission index -> actor
        self._refs: dict[int, Any] = {}           # submission index -> ref (or list of refs)
        self._waiting: list[tuple[Submit, Any]] = []
        self._next_index = 0                       # index the next submission gets
        self._next_return = 0                      # index get_next() returns next

    # ------------------------------------------------------------------ submitting
    def submit(self, fn: Submit, value: Any) -> None:
        """Run ``fn(actor, value)`` on an idle actor now, or as soon as one is free.

        Never blocks. The result is taken with ``get_next()`` or ``get_next_unordered()``.
        """
        if not callable(fn):
            raise TypeError(f"ActorPool.submit() needs a function fn(actor, value), got "
                            f"{type(fn).__name__}")
        if not self._idle:
            self._waiting.append((fn, value))
            return
        actor = self._idle.pop()
        ref = fn(actor, value)
        if not _is_refs(ref):
            self._idle.append(actor)
            raise TypeError(f"the function given to ActorPool must return the ObjectRef of "
                            f"the actor call it made (e.g. lambda a, v: a.method.remote(v)), "
                            f"got {type(ref).__name__}")
        self._busy[self._next_index] = actor
        self._refs[self._next_index] = ref
        self._next_index += 1

    def map(self, fn: Submit, values: Iterable[Any]) -> Iterator[Any]:
        """Submit every value and return an iterator of the results in the order of ``values``.

        Results not yet taken from earlier submissions are discarded first (as in Ray).
        Iterating blocks until each next result is ready; an error of a call is raised
        when its turn comes.
        """
        self._discard_pending(ordered=True)
        for value in values:
            self.submit(fn, value)
        return self._drain(self.get_next)

    def map_unordered(self, fn: Submit, values: Iterable[Any]) -> Iterator[Any]:
        """Like ``map()``, but results come in the order they finish."""
        self._discard_pending(ordered=False)
        for value in values:
            self.submit(fn, value)
        return self._drain(self.get_next_unordered)

    def _drain(self, take: Callable[[], Any]) -> Iterator[Any]:
        while self.has_next():
            yield take()

    def _discard_pending(self, *, ordered: bool) -> None:
        while self.has_next():
            try:
                if ordered:
                    self.get_next(timeout=0, ignore_if_timedout=True)
                else:
                    self.get_next_unordered(timeout=0, ignore_if_timedout=True)
            except TimeoutError:
                pass

    # ------------------------------------------------------------------ state
    def has_next(self) -> bool:
        """Whether any submitted result has not been taken yet (running or finished)."""
        return bool(self._busy)

    def has_free(self) -> bool:
        """Whether an actor is idle and no submitted value is waiting for one."""
        return bool(self._idle) and not self._waiting

    def pop_idle(self) -> Any | None:
        """Take an idle actor out of the pool; ``None`` if none is free (see ``has_free``)."""
        return self._idle.pop() if self.has_free() else None

    def push(self, actor: Any) -> None:
        """Add an actor to the pool; it starts on a waiting value at once if there is one.

        Raises ``ValueError`` if the actor already belongs to this pool.
        """
        if actor in self._idle or actor in self._busy.values():
            raise ValueError(f"{actor!r} already belongs to this ActorPool")
        self._return(actor, alive=True)

    # ------------------------------------------------------------------ taking results
    def get_next(self, timeout: float | None = None, ignore_if_timedout: bool = False) -> Any:
        """The next result in submission order; blocks up to ``timeout`` seconds for it.

        Raises ``StopIteration`` if nothing was submitted, ``TimeoutError`` if the result is
        not ready in time (it stays in the pool, or with ``ignore_if_timedout`` is dropped
        and its actor freed), and the call's own error if it failed.
        """
        check_not_in_loop("ActorPool.get_next()")
        index = self._ordered_index()
        ref = self._refs[index]
        if timeout is not None:
            ready, _ = _api.wait(_flat(ref), num_returns=len(_flat(ref)), timeout=timeout)
            if len(ready) < len(_flat(ref)):
                return self._timed_out(index, ignore_if_timedout)
        self._next_return = index + 1
        return self._take(index, _api.get)

    def get_next_unordered(self, timeout: float | None = None,
                           ignore_if_timedout: bool = False) -> Any:
        """Whichever result finishes first; blocks up to ``timeout`` seconds for one.

        Errors as ``get_next()``; when timing out with ``ignore_if_timedout``, the oldest
        result is the one dropped. Once used, ``get_next()`` may no longer be called for
        the results submitted so far.
        """
        check_not_in_loop("ActorPool.get_next_unordered()")
        self._check_has_next()
        index = self._first_ready(timeout)
        if index is None:
            return self._timed_out(min(self._busy), ignore_if_timedout)
        self._next_return = max(self._next_return, index + 1)
        return self._take(index, _api.get)

    # ------------------------------------------------------------------ async forms
    async def get_next_async(self, timeout: float | None = None,  # noqa: ASYNC109 - Ray's signature
                             ignore_if_timedout: bool = False) -> Any:
        """``get_next()`` for coroutines: awaits the result without blocking the loop.

        Raises ``StopAsyncIteration`` (not ``StopIteration``, which a coroutine cannot raise)
        if nothing was submitted; otherwise as ``get_next()``.
        """
        index = self._ordered_index(StopAsyncIteration)
        try:
            await asyncio.wait_for(asyncio.shield(_gather(self._refs[index])), timeout)
        except TimeoutError:
            return self._timed_out(index, ignore_if_timedout)
        except Exception:  # noqa: BLE001 - the call failed: _take raises it with the actor freed
            pass
        self._next_return = index + 1
        return await self._take_async(index)

    async def get_next_unordered_async(self, timeout: float | None = None,  # noqa: ASYNC109 - Ray's signature
                                       ignore_if_timedout: bool = False) -> Any:
        """``get_next_unordered()`` for coroutines (``StopAsyncIteration`` when empty)."""
        self._check_has_next(StopAsyncIteration)
        waits = {asyncio.ensure_future(_gather(ref)): index for index, ref in self._refs.items()}
        try:
            done, _ = await asyncio.wait(waits, timeout=timeout,
                                         return_when=asyncio.FIRST_COMPLETED)
        finally:
            for future in waits:
                if not future.done():
                    future.cancel()
                else:
                    future.exception()  # retrieved: a failure is raised by _take below
        if not done:
            return self._timed_out(min(self._busy), ignore_if_timedout)
        index = min(waits[future] for future in done)
        self._next_return = max(self._next_return, index + 1)
        return await self._take_async(index)

    async def map_async(self, fn: Submit, values: Iterable[Any]) -> AsyncIterator[Any]:
        """``map()`` for coroutines: ``async for result in pool.map_async(fn, values)``.

        Results not yet taken are dropped first without waiting for them, and values still
        waiting for an actor are not run (``map()`` runs them, then drops their results).
        """
        self._drop_pending()
        for value in values:
            self.submit(fn, value)
        while self.has_next():
            yield await self.get_next_async()

    async def map_unordered_async(self, fn: Submit,
                                  values: Iterable[Any]) -> AsyncIterator[Any]:
        """``map_unordered()`` for coroutines (dropping what is pending as ``map_async``)."""
        self._drop_pending()
        for value in values:
            self.submit(fn, value)
        while self.has_next():
            yield await self.get_next_unordered_async()

    # ------------------------------------------------------------------ internals
    def _drop_pending(self) -> None:
        """Forget every result not yet taken and every waiting value, without waiting."""
        self._waiting.clear()
        for index in sorted(self._busy):
            self._refs.pop(index)
            self._idle.append(self._busy.pop(index))
        self._next_return = self._next_index

    def _check_has_next(self, stop: type[Exception] = StopIteration) -> None:
        if not self.has_next():
            raise stop("No more results to get")

    def _ordered_index(self, stop: type[Exception] = StopIteration) -> int:
        self._check_has_next(stop)
        if self._next_return not in self._refs:
            raise ValueError("get_next() cannot be called after get_next_unordered() "
                             "for the same submissions; keep using get_next_unordered()")
        return self._next_return

    def _first_ready(self, timeout: float | None) -> int | None:
        by_ref = {ref: index for index, refs in self._refs.items() for ref in _flat(refs)}
        pending = dict(self._refs)
        while True:
            waiting = [ref for refs in pending.values() for ref in _flat(refs)]
            ready, _ = _api.wait(waiting, num_returns=1, timeout=timeout)
            if not ready:
                return None
            index = by_ref[ready[0]]
            ready_all, _ = _api.wait(_flat(pending[index]), num_returns=len(_flat(
                pending[index])), timeout=0)
            if len(ready_all) == len(_flat(pending[index])):
                return index
            timeout = None if timeout is None else 0.0  # a multi-return call half done: wait on

    def _timed_out(self, index: int, ignore: bool) -> Any:
        if ignore:
            self._refs.pop(index)
            self._return(self._busy.pop(index), alive=True)
            if index == self._next_return:
                self._next_return += 1
            raise GetTimeoutError(f"Timed out waiting for result; the task of submission "
                                  f"{index} has been ignored")
        raise GetTimeoutError("Timed out waiting for result")

    def _take(self, index: int, read: Callable[[Any], Any]) -> Any:
        ref = self._refs.pop(index)
        actor = self._busy.pop(index)
        alive = True
        try:
            return read(ref)
        except ActorDiedError:
            alive = False
            raise
        finally:
            self._return(actor, alive=alive)

    async def _take_async(self, index: int) -> Any:
        ref = self._refs.pop(index)
        actor = self._busy.pop(index)
        alive = True
        try:
            return await _gather(ref)
        except ActorDiedError:
            alive = False
            raise
        finally:
            self._return(actor, alive=alive)

    def _return(self, actor: Any, *, alive: bool) -> None:
        # A dead actor stays out, or every later submission would go to it and fail.
        if alive:
            self._idle.append(actor)
        if self._waiting and self._idle:
            self.submit(*self._waiting.pop(0))

    def __repr__(self) -> str:
        return (f"ActorPool({len(self._idle)} idle, {len(self._busy)} busy, "
                f"{len(self._waiting)} waiting)")


def _is_refs(value: Any) -> bool:
    if isinstance(value, ObjectRef):
        return True
    return isinstance(value, list) and bool(value) and all(
        isinstance(ref, ObjectRef) for ref in value)


def _flat(refs: Any) -> list[ObjectRef[Any]]:
    return list(refs) if isinstance(refs, list) else [refs]


async def _gather(refs: Any) -> Any:
    if isinstance(refs, list):
        return list(await asyncio.gather(*refs))
    return await refs
