"""``Queue``: a first-in, first-out queue shared by tasks and actors (``ray.util.queue``).

The items live in one async actor; a ``Queue`` object is a small handle to it that can be
passed to any task or actor (it pickles as the actor's handle). Every operation is one call
to that actor, which decides it atomically, so with any number of producers and consumers in
any processes an item is handed to exactly one ``get`` — never lost, never delivered twice —
while those processes live. Blocking ``put``/``get`` wait *in the actor* (their timeout runs
there too), so a caller that gives up has taken nothing.

``get_async``/``put_async`` are the coroutine forms; cancelling one cancels its call, and an
item the actor had already handed out goes back to the front of the queue.

What is not kept: the queue's actor is one process's memory. If that process dies (or
``shutdown()`` is called) its items are gone and blocked calls fail with ``ActorDiedError``,
as in Ray; an item returned to a consumer that then dies unread is lost with it.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable
from typing import Any

from actorium import _api
from actorium._core.actor import ActorHandle
from actorium.exceptions import ActorDiedError, QueueEmptyError, QueueFullError

__all__ = ["Empty", "Full", "Queue"]

# Ray's names. Each also derives from the standard library's queue.Empty / queue.Full.
Empty = QueueEmptyError
Full = QueueFullError

_OK, _EMPTY, _FULL, _CLOSED = "ok", "empty", "full", "closed"
# Blocked gets and puts each hold one of the actor's concurrent slots while they wait.
_CONCURRENCY = 10_000


class _QueueActor:
    """The queue itself: items, and the calls waiting for an item or for room."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self.items: deque[Any] = deque()
        self.getters: deque[asyncio.Future[None]] = deque()
        self.putters: deque[asyncio.Future[None]] = deque()
        self.closed = False

    # -- state
    def qsize(self) -> int:
        return len(self.items)

    def full(self) -> bool:
        return 0 < self.maxsize <= len(self.items)

    # -- putting
    async def put(self, item: Any, timeout: float | None) -> str:  # noqa: ASYNC109 - Ray's signature
        if not await self._wait_for(self.putters, self.full, timeout):
            return _CLOSED if self.closed else _FULL
        self._append(item)
        return _OK

    def put_nowait(self, item: Any) -> str:
        if self.closed:
            return _CLOSED
        if self.full():
            return _FULL
        self._append(item)
        return _OK

    def put_nowait_batch(self, items: list[Any]) -> str:
        if self.closed:
            return _CLOSED
        if self.maxsize > 0 and len(self.items) + len(items) > self.maxsize:
            return _FULL
        for item in items:
            self._append(item)
        return _OK

    def requeue(self, item: Any) -> None:
        """Put back, at the front, an item whose getter gave up after it was handed out."""
        self.items.appendleft(item)
        _wake(self.getters)

    def _append(self, item: Any) -> None:
        self.items.append(item)
        _wake(self.getters)

    # -- getting
    async def get(self, timeout: float | None) -> tuple[str, Any]:  # noqa: ASYNC109 - Ray's signature
        if not await self._wait_for(self.getters, lambda: not self.items, timeout):
            return (_CLOSED if self.closed else _EMPTY), None
        return _OK, self._popleft()

    def get_nowait(self) -> tuple[str, Any]:
        if not self.items:
            return (_CLOSED if self.closed else _EMPTY), None
        return _OK, self._popleft()

    def get_nowait_batch(self, count: int) -> tuple[str, Any]:
        if count > len(self.items):
            return (_CLOSED if self.closed else _EMPTY), len(self.items)
        return _OK, [self._popleft() for _ in range(count)]

    def _popleft(self) -> Any:
        item = self.items.popleft()
        _wake(self.putters)
        if self.items:
            _wake(self.getters)   # a woken getter may have left: pass the turn on
        return item

    # -- waiting
    async def _wait_for(self, waiters: deque[asyncio.Future[None]], blocked: Any,
                        timeout: float | None) -> bool:  # noqa: ASYNC109 - Ray's signature
        """Wait (FIFO with the other waiters) until ``blocked()`` is false; False on timeout
        or when the queue closes. No await between the check and the caller's change."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while not self.closed and (blocked() or waiters):
            if deadline is not None and loop.time() >= deadline:
                return False
            turn: asyncio.Future[None] = loop.create_future()
            waiters.append(turn)
            try:
                if deadline is None:
                    await turn
                else:
                    await asyncio.wait_for(turn, deadline - loop.time())
            except TimeoutError:
                return False
            except asyncio.CancelledError:
                # This call was cancelled: a wake-up it had received goes to the next waiter.
                if turn.done() and not turn.cancelled():
                    _wake(waiters)
                raise
            finally:
                if turn in waiters:
                    waiters.remove(turn)
            if not blocked():
                break
        return not self.closed

    def close(self) -> None:
        """Fail every waiting call and refuse new items (before the actor is stopped)."""
        self.closed = True
        for waiters in (self.getters, self.putters):
            while waiters:
                _wake(waiters)


def _wake(waiters: deque[asyncio.Future[None]]) -> None:
    while waiters:
        turn = waiters.popleft()
        if not turn.done():
            turn.set_result(None)
            return


_QueueActorClass = _api.remote(max_concurrency=_CONCURRENCY)(_QueueActor)


class Queue:
    """A FIFO queue usable from the driver, tasks and actors; ``maxsize=0`` is unbounded.

    ``actor_options`` go to the queue actor's ``.options(...)`` (e.g. ``{"num_cpus": 1}``
    or a ``name``). Every method except the ``*_async`` ones blocks the calling thread (and
    raises ``BlockingCallInLoopError`` inside an event loop: use the async forms there).
    """

    def __init__(self, maxsize: int = 0, actor_options: dict[str, Any] | None = None) -> None:
        if isinstance(maxsize, bool) or not isinstance(maxsize, int) or maxsize < 0:
            raise ValueError(f"Queue(maxsize=...) takes an int >= 0 (0: unbounded), "
                             f"got {maxsize!r}")
        if actor_options is not None and not isinstance(actor_options, dict):
            raise TypeError(f"Queue(actor_options=...) takes a dict of actor options, got "
                            f"{type(actor_options).__name__}")
        self.maxsize = maxsize
        options = {"max_restarts": 0, "max_task_retries": 0, **(actor_options or {})}
        self.actor: ActorHandle[Any] | None = _QueueActorClass.options(**options).remote(
            maxsize)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_queue, (self.maxsize, self.actor))

    # ------------------------------------------------------------------ size
    def __len__(self) -> int:
        return self.size()

    def size(self) -> int:
        """How many items are in the queue now (blocks for one call to the queue's actor)."""
        result: int = _api.get(self._actor().qsize.remote())
        return result

    def qsize(self) -> int:
        """Same as ``size()``."""
        return self.size()

    def empty(self) -> bool:
        """Whether the queue holds no item right now."""
        return self.size() == 0

    def full(self) -> bool:
        """Whether the queue has ``maxsize`` items right now (never for ``maxsize=0``)."""
        result: bool = _api.get(self._actor().full.remote())
        return result

    # ------------------------------------------------------------------ put
    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        """Add ``item`` at the end; with ``block``, wait up to ``timeout`` s (None: forever)
        for room. Raises ``Full`` if there is no room (at once when not blocking)."""
        _check_timeout(block, timeout)
        actor = self._actor()
        ref = actor.put.remote(item, timeout) if block else actor.put_nowait.remote(item)
        _raise_for(_api.get(ref), "put")

    async def put_async(self, item: Any, block: bool = True,
                        timeout: float | None = None) -> None:  # noqa: ASYNC109 - Ray's signature
        """``put()`` for coroutines: awaits room without blocking the event loop."""
        _check_timeout(block, timeout)
        actor = self._actor()
        ref = actor.put.remote(item, timeout) if block else actor.put_nowait.remote(item)
        try:
            status = await ref
        except asyncio.CancelledError:
            _api.cancel(ref)   # a put cancelled while it waits adds nothing
            raise
        _raise_for(status, "put")

    def put_nowait(self, item: Any) -> None:
        """``put(item, block=False)``."""
        self.put(item, block=False)

    def put_nowait_batch(self, items: Iterable[Any]) -> None:
        """Add all ``items`` in order, or none of them: ``Full`` if they do not all fit."""
        if not isinstance(items, Iterable):
            raise TypeError(f"put_nowait_batch() takes an iterable of items, got "
                            f"{type(items).__name__}")
        batch = list(items)
        status = _api.get(self._actor().put_nowait_batch.remote(batch))
        if status == _FULL:
            raise Full(f"cannot add {len(batch)} items to a queue with maxsize "
                       f"{self.maxsize} (it holds {self.size()})")
        _raise_for(status, "put")

    # ------------------------------------------------------------------ get
    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        """Remove and return the first item; with ``block``, wait up to ``timeout`` s (None:
        forever) for one. Raises ``Empty`` if there is none (at once when not blocking)."""
        _check_timeout(block, timeout)
        actor = self._actor()
        ref = actor.get.remote(timeout) if block else actor.get_nowait.remote()
        status, item = _api.get(ref)
        _raise_for(status, "get")
        return item

    async def get_async(self, block: bool = True, timeout: float | None = None) -> Any:  # noqa: ASYNC109 - Ray's signature
        """``get()`` for coroutines. Safe to cancel: the item is then left in the queue."""
        _check_timeout(block, timeout)
        actor = self._actor()
        ref = actor.get.remote(timeout) if block else actor.get_nowait.remote()
        try:
            status, item = await ref
        except asyncio.CancelledError:
            _api.cancel(ref)
            _keep_reference(asyncio.ensure_future(_requeue_if_handed_out(actor, ref)))
            raise
        _raise_for(status, "get")
        return item

    def get_nowait(self) -> Any:
        """``get(block=False)``."""
        return self.get(block=False)

    def get_nowait_batch(self, num_items: int) -> list[Any]:
        """Remove and return the first ``num_items`` items in order, or none of them:
        ``Empty`` if the queue holds fewer."""
        if isinstance(num_items, bool) or not isinstance(num_items, int):
            raise TypeError(f"get_nowait_batch() takes an int, got {type(num_items).__name__}")
        if num_items < 0:
            raise ValueError(f"get_nowait_batch() takes a number of items >= 0, got {num_items}")
        status, items = _api.get(self._actor().get_nowait_batch.remote(num_items))
        if status == _EMPTY:
            raise Empty(f"cannot get {num_items} items from a queue holding {items}")
        _raise_for(status, "get")
        result: list[Any] = items
        return result

    # ------------------------------------------------------------------ end
    def shutdown(self, force: bool = False, grace_period_s: float = 5) -> None:
        """Stop the queue's actor and release what it reserved; its items are dropped.

        Without ``force``, calls waiting in ``get``/``put`` first fail with
        ``ActorDiedError`` (given up to ``grace_period_s`` seconds), then the actor is
        killed. Using the queue afterwards raises ``ActorDiedError``.
        """
        actor, self.actor = self.actor, None
        if actor is None:
            return
        if not force:
            _api.wait([actor.close.remote()], timeout=grace_period_s)
        _api.kill(actor, no_restart=True)

    def _actor(self) -> ActorHandle[Any]:
        if self.actor is None:
            raise ActorDiedError("this Queue was shut down")
        return self.actor

    def __repr__(self) -> str:
        return f"Queue(maxsize={self.maxsize}, actor={self.actor!r})"


def _rebuild_queue(maxsize: int, actor: ActorHandle[Any] | None) -> Queue:
    rebuilt = Queue.__new__(Queue)
    rebuilt.maxsize = maxsize
    rebuilt.actor = actor
    return rebuilt


def _check_timeout(block: bool, timeout: float | None) -> None:
    if not isinstance(block, bool):
        raise TypeError(f"block must be True or False, got {block!r}")
    if timeout is not None:
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
            raise TypeError(f"timeout must be a number of seconds or None, got {timeout!r}")
        if timeout < 0:
            raise ValueError("'timeout' must be a non-negative number")
        if not block:
            raise ValueError("a timeout is only meaningful with block=True")


def _raise_for(status: str, operation: str) -> None:
    if status == _OK:
        return
    if status == _FULL:
        raise Full("the queue is full")
    if status == _EMPTY:
        raise Empty("the queue is empty")
    raise ActorDiedError(f"cannot {operation}: the Queue was shut down")


_background: set[asyncio.Future[None]] = set()


def _keep_reference(future: asyncio.Future[None]) -> None:
    _background.add(future)
    future.add_done_callback(_background.discard)


async def _requeue_if_handed_out(actor: ActorHandle[Any], ref: Any) -> None:
    """The getter was cancelled: if the actor had already handed it an item, put it back."""
    try:
        status, item = await ref
    except Exception:   # noqa: BLE001 - cancelled in time (or the queue is gone): nothing taken
        return
    if status == _OK:
        actor.requeue.remote(item)

