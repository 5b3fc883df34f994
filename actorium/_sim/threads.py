"""Synchronous user code (a sync task or actor method) inside the simulation, one at a time.

A sync method may block: ``actorium.get()``, ``time.sleep()``. In the real runtime it blocks a
thread of its worker while the rest of the world goes on. Here it runs on a thread of its own,
but *only while the loop waits for it*: the loop hands it the baton and waits until the
method either returns or blocks; a blocking call hands the baton back with what it waits for
(an awaitable), the loop awaits that in virtual time, then hands the baton back with the
answer. Exactly one thread runs at any moment, so a run is as repeatable as the loop's.
"""

from __future__ import annotations

import contextvars
import inspect
import threading
from collections.abc import Awaitable, Callable
from typing import Any

_current = threading.local()


class SimulationEnded(BaseException):
    """Raised inside user code still blocked when the simulation ends, so its thread exits."""


class _Yield:
    """A handoff from a sync thread to the loop: what it waits for, and the answer."""

    __slots__ = ("awaitable", "value", "error")

    def __init__(self, awaitable: Awaitable[Any] | None) -> None:
        self.awaitable = awaitable
        self.value: Any = None
        self.error: BaseException | None = None


class SyncCall:
    """One sync call on its own thread, driven by the loop (``await call.run()``)."""

    def __init__(self, function: Callable[[], Any], context: contextvars.Context,
                 idents: set[int]) -> None:
        self._function = function
        self._context = context
        self._idents = idents
        self._go = threading.Event()       # the thread may run
        self._back = threading.Event()     # the loop may run
        self._request: _Yield | None = None
        self._done = False
        self._result: Any = None
        self._error: BaseException | None = None
        self._ended = False
        self._thread = threading.Thread(target=self._main, name="actorium-sim-call",
                                        daemon=True)

    def _main(self) -> None:
        self._idents.add(threading.get_ident())
        _current.call = self
        self._go.wait()
        try:
            self._result = self._context.run(self._function)
        except BaseException as error:  # noqa: BLE001 - handed to the loop, re-raised there
            self._error = error
        finally:
            self._done = True
            self._idents.discard(threading.get_ident())
            self._back.set()

    async def run(self) -> Any:
        """Run the call to its end, awaiting on the loop whatever it blocks on."""
        self._thread.start()
        self._hand_over()
        while not self._done:
            request = self._request
            assert request is not None
            if not self._ended:
                try:
                    request.value = await request.awaitable if request.awaitable is not None \
                        else None
                except BaseException as error:  # noqa: BLE001 - raised in the blocked call
                    request.error = error
            elif inspect.iscoroutine(request.awaitable):
                request.awaitable.close()   # never awaited: the call is being ended
            self._hand_over()
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._result

    def _hand_over(self) -> None:
        self._back.clear()
        self._go.set()
        self._back.wait()

    def block_on(self, awaitable: Awaitable[Any] | None) -> Any:
        """Called on this call's thread: give the baton to the loop until ``awaitable`` is
        done; return its value or raise its error."""
        if self._ended:
            raise SimulationEnded("the simulation ended while this call was blocked")
        request = _Yield(awaitable)
        self._request = request
        self._go.clear()
        self._back.set()
        self._go.wait()
        if self._ended:
            raise SimulationEnded("the simulation ended while this call was blocked")
        if request.error is not None:
            raise request.error
        return request.value

    def doom(self) -> None:
        """Its process was killed: the next (or current) wait raises ``SimulationEnded``, so
        the code stops where a SIGKILL would have stopped it (loop thread)."""
        self._ended = True

    def end(self) -> None:
        """The simulation is over: a thread still blocked raises ``SimulationEnded``."""
        if not self._done and self._thread.is_alive():
            self._ended = True
            self._go.set()
            self._thread.join(timeout=5)


def current_call() -> SyncCall | None:
    """The sync call running on this thread, if it is one of the simulation's."""
    return getattr(_current, "call", None)
