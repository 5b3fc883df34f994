"""The runtime of one process: its sockets, its objects, and the caller side of every call.

Design
------
Every process (driver or worker) has one ``Runtime``. It owns

* an event loop (uvloop): the worker's main loop, or in a driver a background thread's loop,
  so that plain scripts can block in ``get()`` while messages keep flowing;
* an ``Inbox`` (the process's one PULL socket) and an ``Outbox`` (per-thread PUSH sockets);
* the ``ObjectTable`` of objects it owns or borrows;
* caller-side state: actors it calls (their address and per-caller sequence numbers), calls
  in flight, requests to the node waiting for an answer.

Path of an actor call: ``handle.method.remote(x)`` serializes the arguments on the calling
thread, mints a task id, creates the pending result entry and pushes ACTOR_CALL straight to the
hosting worker's inbox. The worker runs it and pushes TASK_RESULT back to this inbox; the loop
fills the entry and wakes whoever waits (a blocked ``get()`` or an awaiting coroutine).

Path of a task: SUBMIT_TASK goes to the node, which picks a worker with free resources and
forwards it (EXECUTE_TASK) without unpickling anything; the result comes straight back here.

Worker-side execution lives in ``worker.py`` and ``mailbox.py``; values in ``values.py``,
calls in ``calls.py``; this module is what every process shares.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import threading
import traceback
from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import zmq

from actorium._core.calls import ActorState, CallerSide
from actorium._core.ids import IdMinter
from actorium._core.objects import FAILED, PENDING, ObjectTable
from actorium._core.streams import StreamOwner, StreamState
from actorium._core.values import ValueAccess, check_not_in_loop
from actorium._faults.injector import interpose as interpose_faults
from actorium._faults.injector import interpose_inbox
from actorium._runtime_env.resolve import EnvResolver
from actorium._store.store import ObjectStore
from actorium._transport import local, serialization
from actorium._transport.auth import TOKEN_ENV, FrameAuth, token_from_environment
from actorium._transport.channel import Inbox, Outbox, free_tcp_address
from actorium._transport.protocol import Kind, pack, unpack
from actorium._transport.requests import settle
from actorium.exceptions import (
    GetTimeoutError,
    RuntimeNotInitializedError,
)

if TYPE_CHECKING:
    from actorium._core.producer import Producers


class Runtime(ValueAccess, CallerSide, StreamOwner):
    """A process's runtime; see the module docstring."""

    def __init__(self, *, role: str, worker_id: bytes, session_dir: str, node_address: str,
                 node_id: bytes = b"", job_id: bytes = b"", namespace: str = "default",
                 token: str | None = None, bind_host: str | None = None) -> None:
        self.role = role
        self.worker_id = worker_id
        self.session_dir = session_dir
        self.node_address = node_address
        self.node_id = node_id
        self.job_id = job_id
        self.namespace = namespace
        # Processes of one machine talk over ipc sockets in the (0700) session directory; in a
        # cluster every inbox is a tcp address on this machine's cluster address.
        self.address = (free_tcp_address(bind_host) if bind_host
                        else f"ipc://{session_dir}/{worker_id.hex()[:16]}.sock")
        token = token or token_from_environment()
        if token is None:
            raise RuntimeNotInitializedError(
                f"no cluster token: set {TOKEN_ENV} or start the runtime with actorium.init()")
        self.token = token
        self.auth = FrameAuth(token)
        self.ids = IdMinter(worker_id[:8])
        self.objects = ObjectTable(self.address)
        self.objects.on_borrow_released = self._release_borrow
        self.objects.on_stored_dropped = self.free_stored
        self.objects.on_borrow_added = self._add_borrow
        self._store: ObjectStore | None = None
        self._store_lock = threading.Lock()
        self.actors: dict[bytes, ActorState] = {}
        self.actors_lock = threading.Lock()
        self._inflight_actor: dict[bytes, bytes] = {}   # task_id -> actor_id of calls in flight
        self._requests: dict[int, concurrent.futures.Future[Any]] = {}
        self._request_ids = itertools.count(1)
        self._code_sent: set[bytes] = set()
        self._handlers: dict[int, Callable[[list[Any], list[Any]], None]] = {
            Kind.TASK_RESULT: self._on_task_result,
            Kind.OBJECT_VALUE: self._on_object_value,
            Kind.GET_OBJECT: self._on_get_object,
            Kind.RESPONSE: self._on_response,
            Kind.ACTOR_PLACED: self._on_actor_placed,
            Kind.ACTOR_DIED: self._on_actor_died,
            Kind.RELEASE_OBJECT: self._on_release_object,
            Kind.WORKER_DIED: self._on_worker_died,
            Kind.GENERATOR_ITEM: self._on_generator_item,
        }
        # Streaming generators this process consumes, and those dropped since the last drain.
        self.streams: dict[bytes, StreamState] = {}
        self.dropped_streams: deque[bytes] = deque()
        # Workers: the generator calls running here (``producer.py``); None in drivers.
        self.producers: Producers | None = None
        self._dead_peers: set[str] = set()
        self.zmq_context: zmq.Context[Any] = zmq.Context()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.loop_thread: threading.Thread | None = None
        self.loop_thread_id = 0
        self.inbox: Inbox | None = None
        self.outbox = Outbox(self.zmq_context, self.address, self._deliver_locally, self.auth)
        interpose_faults(self.outbox, role)   # a no-op unless a test planned faults
        # Delayed and reordered messages wait here, at the receiver (off without a plan).
        self._receive = interpose_inbox(self._on_message, self.outbox)
        self.closed = False
        # Called with True/False around a blocking wait (workers tell the node, to lend CPUs).
        self.on_blocking: Callable[[bool], None] | None = None
        # Workers: the HostedActor of an actor id (for exit_actor() and checkpoint()).
        self.find_actor: Callable[[bytes], Any] | None = None
        self._drain_timer: asyncio.TimerHandle | None = None
        # The runtime environment this process's tasks and actors inherit, and the wire
        # form of each submission's (uploading local working_dir / py_modules once).
        self.envs = EnvResolver(self._env_request)
        # Per-process state of the packages above the core, by name (virtual actors' callers).
        self.extensions: dict[str, Any] = {}

    # ------------------------------------------------------------------ lifecycle
    def attach_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """Bind the inbox and start reading it on ``loop`` (call on the loop's thread)."""
        self.loop = loop
        self.loop_thread_id = threading.get_ident()
        self.outbox.loop = loop
        self.inbox = Inbox(self.zmq_context, self.address, loop, self._receive, self.auth)
        if local.LEADING and self._receive == self._on_message:
            # A thread blocked in get() may read its own reply (not behind planned delays).
            self.inbox.off_loop = self._on_message_off_loop
        self.inbox.start()
        self._schedule_drain()

    def start_loop_thread(self) -> None:
        """Run the runtime's loop on a background thread (drivers)."""
        import uvloop

        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = uvloop.new_event_loop()
            asyncio.set_event_loop(loop)
            try:
                self.attach_loop(loop)
            except BaseException as exc:  # report bind errors to the starting thread
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                self._close_on_loop()
                loop.close()

        self.loop_thread = threading.Thread(target=run, name="actorium-io", daemon=True)
        self.loop_thread.start()
        ready.wait()
        if failure:
            raise failure[0]

    def _schedule_drain(self) -> None:
        assert self.loop is not None
        self.objects.drain_released()
        if self.dropped_streams:
            self.drain_dropped_streams()
        if not self.closed:
            self._drain_timer = self.loop.call_later(0.05, self._schedule_drain)

    def _close_on_loop(self) -> None:
        if self._drain_timer is not None:
            self._drain_timer.cancel()
        if self.inbox is not None:
            self.inbox.close()

    def close(self, flush_seconds: float = 0.0) -> None:
        """Stop the loop thread (drivers), close every socket and fail what still waits.

        ``flush_seconds`` lets queued outgoing messages be delivered first (workers leaving).
        """
        if self.closed:
            return
        self.closed = True
        error = RuntimeNotInitializedError("the runtime was shut down while this was pending")
        for future in list(self._requests.values()):
            if not future.done():
                future.set_exception(error)
        if self.loop_thread is not None and self.loop is not None:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.loop_thread.join(timeout=5)
        self._fail_all_pending(error)
        self.close_inlets()
        if self.inbox is not None and self.loop_thread is None:
            self.inbox.close()
        self.outbox.close(flush_seconds)
        if self._store is not None:
            self._store.close()
        if flush_seconds:
            self.zmq_context.term()
        else:
            self.zmq_context.destroy(linger=0)

    def _fail_all_pending(self, error: BaseException) -> None:
        data = serialization.dumps(error)[1]
        for object_id, entry in self.objects.snapshot():
            if entry.state == PENDING:
                self.objects.complete(object_id, FAILED, serialization.PICKLE, data, [])

    # ------------------------------------------------------------------ messaging
    def send(self, address: str, header: list[Any], buffers: Sequence[Any] = ()) -> None:
        """Send one message (any thread)."""
        frame = pack(header)
        self.outbox.send(address, (frame, *buffers) if buffers else (frame,))

    def _deliver_locally(self, frames: list[Any]) -> None:
        loop = self.loop
        if loop is None or self.closed:
            return
        loop.call_soon_threadsafe(self._receive, frames)

    def _on_message(self, frames: list[Any]) -> None:
        try:
            header = unpack(frames[0])
            handler = self._handlers[header[0]]
        except Exception:  # noqa: BLE001 - a malformed frame must not stop the loop
            return
        try:
            handler(header, frames[1:])
        except Exception:  # noqa: BLE001 - nor may one failing handler stall the inbox
            # Raising into the inbox's drain would drop the rest of its batch and leave the
            # edge-triggered socket unread: every later message (results, ACTOR_PLACED) lost.
            traceback.print_exc()

    def _on_message_off_loop(self, frames: list[Any]) -> bool:
        """A message read by a thread blocked in ``get()``: handled on that thread if it is
        a result that needs nothing of the loop; False to have the loop handle it."""
        header = unpack(frames[0])
        if header[0] != Kind.TASK_RESULT:
            return False
        return self.task_result_off_loop(header, frames[1:])

    def register_handler(self, kind: int, handler: Callable[[list[Any], list[Any]], None]) -> None:
        self._handlers[kind] = handler

    def _env_request(self, verb: str, *args: Any) -> Any:
        if threading.get_ident() == self.loop_thread_id:
            # The answer would arrive on this very thread: waiting for it here never ends.
            raise RuntimeError("a runtime_env with a local working_dir or py_modules cannot be "
                               "uploaded from async code running on a worker's event loop; "
                               "give it in init(runtime_env=...) or @remote instead")
        # Uploads may be large: no deadline beyond the node's own.
        return self.request(verb, *args, timeout=None, caller="runtime_env")

    # ------------------------------------------------------------------ requests to the node
    def request(self, verb: str, *args: Any, timeout: float | None = 30.0,
                buffers: Sequence[Any] = (), caller: str | None = None) -> Any:
        """Ask the node something and block for the answer.

        Refused on a thread running an event loop, unless ``caller`` names a public call that
        may briefly block there (``init()`` waits for the node, as Ray's does).
        """
        if caller is None:
            check_not_in_loop(f"actorium.{verb}()")
        try:
            return self._start_request(verb, args, buffers).result(timeout)
        except concurrent.futures.TimeoutError:
            raise GetTimeoutError(f"the node did not answer {verb!r} within {timeout} s") from None

    async def request_async(self, verb: str, *args: Any) -> Any:
        """Ask the node something and await the answer (any loop)."""
        return await asyncio.wrap_future(self._start_request(verb, args))

    def notify_node(self, verb: str, *args: Any) -> None:
        """Tell the node something without waiting for its answer (safe on a loop thread)."""
        self._start_request(verb, args)

    def _start_request(self, verb: str, args: tuple[Any, ...],
                       buffers: Sequence[Any] = ()) -> concurrent.futures.Future[Any]:
        if self.closed:
            raise RuntimeNotInitializedError("actorium was shut down")
        request_id = next(self._request_ids)
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self._requests[request_id] = future
        self.send(self.node_address, [Kind.REQUEST, request_id, self.address, verb, list(args)],
                  buffers)
        return future

    def _on_response(self, header: list[Any], _buffers: list[Any]) -> None:
        settle(self._requests, header)

