"""Threads that run synchronous user code so that the event loop never blocks.

A worker's event loop receives messages and runs async actors; synchronous functions and
methods run here instead. The pool grows on demand up to ``max_threads`` and threads exit
after ``idle_seconds`` without work, so an idle worker keeps few threads.
"""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import Callable
from typing import Any

_STOP = object()


class SyncThreadPool:
    """Runs callables on background threads; ``submit`` never blocks."""

    def __init__(self, max_threads: int = 64, idle_seconds: float = 30.0,
                 name: str = "actorium-sync") -> None:
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._max_threads = max_threads
        self._idle_seconds = idle_seconds
        self._name = name
        self._lock = threading.Lock()
        self._threads: set[threading.Thread] = set()
        self._idle = 0
        self._closed = False

    def submit(self, function: Callable[..., Any], *args: Any) -> None:
        """Run ``function(*args)`` on a pool thread, in the caller's contextvars context."""
        context = contextvars.copy_context()
        self._queue.put((context, function, args))
        with self._lock:
            if self._idle > 0 or len(self._threads) >= self._max_threads or self._closed:
                if self._idle > 0:
                    self._idle -= 1
                return
            thread = threading.Thread(target=self._work, name=f"{self._name}-{len(self._threads)}",
                                      daemon=True)
            self._threads.add(thread)
        thread.start()

    def _work(self) -> None:
        get = self._queue.get
        while True:
            try:
                item = get(timeout=self._idle_seconds)
            except queue.Empty:
                with self._lock:
                    # Leave only if no submit counted on this thread being idle.
                    if self._idle > 0:
                        self._idle -= 1
                        self._threads.discard(threading.current_thread())
                        return
                continue
            if item is _STOP:
                with self._lock:
                    self._threads.discard(threading.current_thread())
                return
            context, function, args = item
            context.run(function, *args)
            with self._lock:
                self._idle += 1

    @property
    def thread_count(self) -> int:
        return len(self._threads)

    def close(self) -> None:
        """Ask every thread to exit once its current work is done (does not wait)."""
        with self._lock:
            self._closed = True
            count = len(self._threads)
        for _ in range(count):
            self._queue.put(_STOP)
