"""The producing side of a generator call: running it, sending items, pausing, stopping.

A task or actor method whose call has a negative ``num_returns`` (see ``options``: streaming
or dynamic) returns a generator; ``drive`` / ``drive_async`` iterate it on the thread or loop
the call runs on. Streaming: each item is packed like a return value and sent at once to the
owner (GENERATOR_ITEM); the call's result is the number of items. An exception in the
generator becomes one more item that holds it, so the consumer reads every earlier item first.

Back-pressure: the producer pauses while it is ``limit`` items ahead of what the owner has
handed out (GENERATOR_ACK). A pause ends early when the call is cancelled (the owner dropped
the generator or called ``cancel``) or the owner's process died: nobody would read on.

Items to a consumer on this machine go into its stream's inlet when it has one (a datagram
socket that the thread reading the stream waits on; ``_transport/datagrams.py``), else, and
whenever the inlet cannot take one, through its inbox like any message. Items are numbered,
so the consumer restores the order across the two ways.

Retries (Ray's rule for streaming generators): a task whose generator raises an exception its
``retry_exceptions`` covers, with retries left, runs again from the start in the same call
(``again`` gives the fresh generator). The items sent before are not sent again: the owner
has them, and it ignores a retried producer's copies anyway (a task retried on another worker
after its worker died sends everything again; see ``streams.py``). A "dynamic" generator
collects its items over again; ``num_returns=N`` is not retried (both as in Ray 2.60).
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from actorium._core.options import DYNAMIC_RETURNS, stream_backpressure
from actorium._transport import serialization
from actorium._transport.datagrams import LOOK_FOR_INLET, Outlet, Sent, inlet_path
from actorium._transport.protocol import FAILED_RETURN, Kind, TaskStatus, pack
from actorium.exceptions import TaskCancelledError

if TYPE_CHECKING:
    from actorium._core.runtime import Runtime

# Items of these types are packed without the general path (RAW msgpack, nothing stored).
_SCALARS = frozenset({int, float, bool, type(None)})

# Asked when a streaming generator raises: the generator to run instead (the call made again,
# a retry), or None to end the stream with the exception. See the worker's task retries.
Again = Callable[[Exception], Any]
AgainAsync = Callable[[Exception], Awaitable[Any]]


class Producer:
    """One running streaming call in this worker."""

    __slots__ = ("runtime", "owner", "task_id", "name", "limit", "consumed", "stopped", "cond",
                 "event", "loop", "sent", "inlet", "outlet")

    def __init__(self, runtime: Runtime, owner: str, task_id: bytes, name: str,
                 limit: int, outlet: Outlet) -> None:
        self.runtime = runtime
        self.owner = owner
        self.task_id = task_id
        self.name = name
        self.limit = limit
        self.consumed = 0
        self.stopped: str | None = None      # why it must stop, once it must
        self.cond = threading.Condition()
        self.event: asyncio.Event | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.sent = 0                        # items sent so far (a retry starts below it)
        self.inlet = inlet_path(owner, task_id)   # the consumer's inlet, while worth trying
        self.outlet = outlet

    def acked(self, consumed: int) -> None:
        with self.cond:
            self.consumed = max(self.consumed, consumed)
            self.cond.notify_all()
        self._poke()

    def stop(self, why: str) -> None:
        with self.cond:
            self.stopped = why
            self.cond.notify_all()
        self._poke()

    def _poke(self) -> None:
        event, loop = self.event, self.loop
        if event is not None and loop is not None:
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:
                pass

    def _check(self) -> None:
        if self.stopped is not None:
            raise TaskCancelledError(f"{self.name} was stopped: {self.stopped}")

    def offer(self, index: int, value: Any) -> int:
        """The generator yielded item ``index``: send it unless an earlier run of this call
        sent it already (a retry runs from the start). The next index."""
        if index >= self.sent:
            self.send(index, value)
            self.sent = index + 1
        return index + 1

    def send(self, index: int, value: Any) -> None:
        """Pack and send item ``index`` (any thread)."""
        from actorium._core.execution import ok_result

        if type(value) in _SCALARS:   # the common small item: no buffers, refs or store
            fmt, data, _buffers, _refs = serialization.dumps(value)
            self._emit(index, TaskStatus.OK, [fmt, data, 0], [], [])
            return
        _status, returns, deps, buffers = ok_result(self.runtime, value, 1, self.name)
        self._emit(index, TaskStatus.OK, returns[0], deps, buffers)

    def send_error(self, index: int, exc: BaseException) -> None:
        """Send the generator's exception as item ``index`` (inside the ``except``)."""
        from actorium._core.execution import error_result

        _status, returns, _deps = error_result(self.name, exc)
        self._emit(index, TaskStatus.ERROR, returns[0], [], [])

    def _emit(self, index: int, status: int, described: list[Any], deps: list[Any],
              buffers: list[Any]) -> None:
        runtime = self.runtime
        if status == TaskStatus.OK and len(described) > 3:
            buffers = runtime.name_results(self.owner, self.task_id, [described], buffers,
                                           first_index=index + 1)
        frame = pack([Kind.GENERATOR_ITEM, self.task_id, index, status, described, deps,
                      runtime.address])
        if index and self.inlet is not None and not buffers and not deps \
                and len(described) <= 3 and self._to_inlet(index, frame):
            return
        runtime.outbox.send(self.owner, (frame, *buffers) if buffers else (frame,))

    def _to_inlet(self, index: int, frame: bytes) -> bool:
        """Hand item ``index`` (one frame) to the consumer's inlet; False: send it through the
        inbox. An inlet that was closed, or full, or is still absent after the first items, is
        not tried again: the consumer waits some other way, or is behind."""
        assert self.inlet is not None
        sent = self.outlet.send(self.inlet, self.runtime.auth.sign((frame,))[0])
        if sent is Sent.GONE or sent is Sent.FULL \
                or sent is Sent.ABSENT and index >= LOOK_FOR_INLET:
            self.inlet = None   # a full queue: the consumer is behind, its loop files faster
        return sent is Sent.SENT

    def wait_room(self, sent: int) -> None:
        """Block this thread while ``sent`` items are ``limit`` ahead of the consumer."""
        with self.cond:
            while self.limit and sent - self.consumed >= self.limit and self.stopped is None:
                self.cond.wait()
        self._check()

    async def wait_room_async(self, sent: int) -> None:
        while self.limit and sent - self.consumed >= self.limit and self.stopped is None:
            if self.event is None:
                self.event = asyncio.Event()
                self.loop = asyncio.get_running_loop()
                continue  # an ack may have come before the event existed
            self.event.clear()
            await self.event.wait()
        self._check()


class Producers:
    """The streaming calls running in this worker, by task id (acks and stops find them)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.running: dict[bytes, Producer] = {}
        self._outlet: Outlet | None = None   # made on the first streaming call
        self._on_worker_died = runtime._handlers[Kind.WORKER_DIED]
        runtime.register_handler(Kind.GENERATOR_ACK, self._on_ack)
        runtime.register_handler(Kind.WORKER_DIED, self._on_worker_died_too)

    def _on_ack(self, header: list[Any], _buffers: list[Any]) -> None:
        producer = self.running.get(header[1])
        if producer is not None:
            producer.acked(header[2])

    def _on_worker_died_too(self, header: list[Any], buffers: list[Any]) -> None:
        self._on_worker_died(header, buffers)
        address = header[2]
        for producer in list(self.running.values()):
            if producer.owner == address:
                producer.stop("the process consuming its items died")

    def cancel(self, task_id: bytes) -> bool:
        """``cancel()`` reached this worker: the producer stops at its next item or at once
        if paused. True if ``task_id`` is a producer running here."""
        producer = self.running.get(task_id)
        if producer is None:
            return False
        producer.stop("it was cancelled")
        return True

    def drive(self, value: Any, num_returns: int, owner: str, task_id: bytes,
              name: str, again: Again | None = None) -> Any:
        """Run a generator a synchronous call returned; the call's result (any thread)."""
        if num_returns == DYNAMIC_RETURNS:
            return self._collect(_check_generator(value, name, asynchronous=False), name, again)
        producer = self._start(owner, task_id, name, num_returns)
        generator = _check_generator(value, name, asynchronous=False)
        index = 0
        try:
            while True:
                producer._check()
                try:
                    item = next(generator)
                except StopIteration:
                    return index
                except Exception as exc:  # noqa: BLE001 - the consumer reads it as an item
                    fresh = again(exc) if again is not None else None
                    if fresh is None:
                        producer.send_error(index, exc)
                        return index + 1
                    generator.close()
                    generator = _check_generator(fresh, name, asynchronous=False)
                    index = 0
                    continue
                index = producer.offer(index, item)
                producer.wait_room(index)
        finally:
            self.running.pop(task_id, None)
            generator.close()

    async def drive_async(self, value: Any, num_returns: int, owner: str, task_id: bytes,
                          name: str, again: AgainAsync | None = None) -> Any:
        """``drive`` for a call running on the loop: an async generator, or a plain one."""
        if not inspect.isasyncgen(value):
            if num_returns == DYNAMIC_RETURNS:
                return self._collect(_check_generator(value, name, asynchronous=False), name)
            return await self._drive_plain_on_loop(value, num_returns, owner, task_id, name,
                                                   again)
        if num_returns == DYNAMIC_RETURNS:
            return await self._collect_async(value, name, again)
        producer = self._start(owner, task_id, name, num_returns)
        index = 0
        try:
            while True:
                producer._check()
                try:
                    item = await value.__anext__()
                except StopAsyncIteration:
                    return index
                except Exception as exc:  # noqa: BLE001
                    fresh = await again(exc) if again is not None else None
                    if fresh is None:
                        producer.send_error(index, exc)
                        return index + 1
                    await value.aclose()
                    if not inspect.isasyncgen(fresh):
                        raise TypeError(f"{name} returned {type(fresh).__name__} when it was "
                                        f"retried, not an async generator") from exc
                    value, index = fresh, 0
                    continue
                index = producer.offer(index, item)
                await producer.wait_room_async(index)
        finally:
            self.running.pop(task_id, None)
            await value.aclose()

    async def _drive_plain_on_loop(self, value: Any, num_returns: int, owner: str,
                                   task_id: bytes, name: str,
                                   again: AgainAsync | None = None) -> int:
        generator = _check_generator(value, name, asynchronous=False)
        producer = self._start(owner, task_id, name, num_returns)
        index = 0
        try:
            while True:
                producer._check()
                try:
                    item = next(generator)
                except StopIteration:
                    return index
                except Exception as exc:  # noqa: BLE001
                    fresh = await again(exc) if again is not None else None
                    if fresh is None:
                        producer.send_error(index, exc)
                        return index + 1
                    generator.close()   # a retry (retry_exceptions) starts from index 0
                    generator = _check_generator(fresh, name, asynchronous=False)
                    index = 0
                    continue
                index = producer.offer(index, item)
                await producer.wait_room_async(index)
        finally:
            self.running.pop(task_id, None)
            generator.close()

    def _start(self, owner: str, task_id: bytes, name: str, num_returns: int) -> Producer:
        if self._outlet is None:
            self._outlet = Outlet()
        producer = Producer(self.runtime, owner, task_id, name, stream_backpressure(num_returns),
                            self._outlet)
        self.running[task_id] = producer
        return producer

    def _collect(self, generator: Any, name: str, again: Again | None = None) -> Any:
        """``num_returns="dynamic"``: store each item; an exception is the last ref (Ray).
        A retry (``again``) starts the list over: the call's one value is the retry's."""
        from actorium._core.streams import DynamicObjectRefGenerator

        refs = []
        while True:
            try:
                for item in generator:
                    refs.append(self.runtime.put(item))
                return DynamicObjectRefGenerator(refs)
            except Exception as exc:  # noqa: BLE001 - the consumer reads it as the last item
                fresh = again(exc) if again is not None else None
                if fresh is None:
                    refs.append(self._failed_object(name, exc))
                    return DynamicObjectRefGenerator(refs)
            generator, refs = _check_generator(fresh, name, asynchronous=False), []

    async def _collect_async(self, generator: Any, name: str,
                             again: AgainAsync | None = None) -> Any:
        from actorium._core.streams import DynamicObjectRefGenerator

        refs = []
        while True:
            try:
                async for item in generator:
                    refs.append(self.runtime.put(item))
                return DynamicObjectRefGenerator(refs)
            except Exception as exc:  # noqa: BLE001
                fresh = await again(exc) if again is not None else None
                if fresh is None:
                    refs.append(self._failed_object(name, exc))
                    return DynamicObjectRefGenerator(refs)
            if not inspect.isasyncgen(fresh):
                raise TypeError(f"{name} returned {type(fresh).__name__} when it was retried, "
                                f"not an async generator")
            generator, refs = fresh, []

    def _failed_object(self, name: str, exc: BaseException) -> Any:
        """An object of this worker that holds the error ``exc`` (inside its ``except``)."""
        from actorium._core.execution import error_result
        from actorium._core.ids import object_id_for
        from actorium._core.objects import FAILED
        from actorium._core.ref import ObjectRef

        runtime = self.runtime
        fmt, data, _count = error_result(name, exc)[1][0]
        object_id = object_id_for(runtime.ids.next_id(), 0)
        runtime.objects.expect(object_id)
        ref: ObjectRef[Any] = ObjectRef(object_id, runtime.address, runtime.objects)
        runtime.objects.complete(object_id, FAILED, fmt, data, [])
        return ref


# ---------------------------------------------------------------------- num_returns=N
# Ray's rule for a generator called with a fixed num_returns=N: its first N items are the N
# returns. If it raises after k < N items, returns k..N-1 hold the exception; if it ends
# after k < N items, they hold a ValueError saying so. Items past the N-th are not returned:
# that is logged (Ray logs it too) and the generator is closed.
def fixed_returns(runtime: Runtime, generator: Any, num_returns: int, name: str,
                  ) -> tuple[int, list[list[Any]], list[Any], list[Any]]:
    """Run a synchronous generator for a call with ``num_returns=N``; the packed outcome."""
    values: list[Any] = []
    failure: list[Any] | None = None
    try:
        try:
            while len(values) < num_returns:
                values.append(next(generator))
        except StopIteration:
            _too_few(name, len(values), num_returns)
        else:
            _check_no_more(name, num_returns, generator, next)
    except Exception as exc:  # noqa: BLE001 - the failed returns hold it
        failure = _described_error(name, exc)
    finally:
        generator.close()
    return _pack_fixed(runtime, values, num_returns, failure, name)


async def fixed_returns_async(runtime: Runtime, generator: Any, num_returns: int, name: str,
                              ) -> tuple[int, list[list[Any]], list[Any], list[Any]]:
    """``fixed_returns`` for an async generator (on the loop it runs on)."""
    values: list[Any] = []
    failure: list[Any] | None = None
    try:
        try:
            while len(values) < num_returns:
                values.append(await generator.__anext__())
        except StopAsyncIteration:
            _too_few(name, len(values), num_returns)
        else:
            try:
                await generator.__anext__()
            except StopAsyncIteration:
                pass
            else:
                _log_extra(name, num_returns)
    except Exception as exc:  # noqa: BLE001
        failure = _described_error(name, exc)
    finally:
        await generator.aclose()
    return _pack_fixed(runtime, values, num_returns, failure, name)


def _too_few(name: str, got: int, num_returns: int) -> None:
    raise ValueError(f"{name} yielded {got} values, but it was called with "
                     f"num_returns={num_returns}")


def _check_no_more(name: str, num_returns: int, generator: Any, step: Any) -> None:
    try:
        step(generator)
    except StopIteration:
        return
    _log_extra(name, num_returns)


def _log_extra(name: str, num_returns: int) -> None:
    import logging

    logging.getLogger("actorium").error(
        "%s yielded more than num_returns=%d values: the extra values are dropped and the "
        "generator is closed", name, num_returns)


def _described_error(name: str, exc: BaseException) -> list[Any]:
    from actorium._core.execution import error_result

    return error_result(name, exc)[1][0]


def _pack_fixed(runtime: Runtime, values: list[Any], num_returns: int,
                failure: list[Any] | None, name: str,
                ) -> tuple[int, list[list[Any]], list[Any], list[Any]]:
    from actorium._core.execution import ok_result

    good = len(values)
    status, returns, deps, buffers = ok_result(
        runtime, values[0] if good == 1 else tuple(values), good, name)
    if failure is not None:
        fmt, data, _count = failure
        returns = returns + [[fmt | FAILED_RETURN, data, 0]] * (num_returns - good)
    return status, returns, deps, buffers


def _check_generator(value: Any, name: str, *, asynchronous: bool) -> Any:
    if inspect.isgenerator(value) or (not asynchronous and hasattr(value, "__next__")
                                      and hasattr(value, "close")):
        return value
    raise TypeError(f"{name} was called as a generator (num_returns=\"streaming\" or "
                    f"\"dynamic\") but returned {type(value).__name__}, not a generator")

