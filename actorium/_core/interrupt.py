"""Cancelling running user code: the requests, and raising inside another thread.

Which running work was asked to stop is kept per process, by task id, so that the code
itself can ask (``get_runtime_context().is_canceled()``) and the mailbox can answer a call
that was cancelled while it ran. Ray's rules, which these serve:

* a *task* is interrupted: ``raise_in_thread`` schedules an exception in its thread (CPython
  checks for it between bytecodes, so pure-Python code stops at once; code blocked inside a C
  call such as ``time.sleep`` stops when that call returns). ``cancel(ref, force=True)``
  ends the whole worker process instead;
* a running call of a *sync or threaded actor* is never interrupted (an exception at an
  arbitrary line would leave the actor's state half-changed): it is marked, the method may
  poll ``is_canceled()`` to stop early, and its caller gets ``TaskCancelledError``;
* a running call of an *async actor* has its ``asyncio`` task cancelled.
"""

from __future__ import annotations

import ctypes
import threading

_requested: set[bytes] = set()
_lock = threading.Lock()


def request(task_id: bytes) -> None:
    """Mark running work as asked to stop (any thread)."""
    with _lock:
        _requested.add(task_id)


def requested(task_id: bytes) -> bool:
    """Whether ``cancel()`` reached this running work."""
    return task_id in _requested


def settle(task_id: bytes) -> bool:
    """The work ended: forget its mark; True if it had been asked to stop."""
    with _lock:
        if task_id in _requested:
            _requested.discard(task_id)
            return True
        return False


def raise_in_thread(thread_ident: int, exception_class: type[BaseException]) -> bool:
    """Schedule ``exception_class`` in the thread; True if that thread exists."""
    changed = ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_ident), ctypes.py_object(exception_class))
    if changed > 1:  # more than one thread state touched: undo, as the C API asks
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_ident), None)
        return False
    return bool(changed == 1)
