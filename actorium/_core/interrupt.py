"""Raising an exception inside another thread, to cancel synchronous user code.

CPython checks for such an exception between bytecodes, so pure-Python code stops at once;
code blocked inside a C call (``time.sleep``, a socket read) stops when that call returns.
``cancel(ref, force=True)`` ends the whole worker process instead.
"""

from __future__ import annotations

import ctypes


def raise_in_thread(thread_ident: int, exception_class: type[BaseException]) -> bool:
    """Schedule ``exception_class`` in the thread; True if that thread exists."""
    changed = ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_ident), ctypes.py_object(exception_class))
    if changed > 1:  # more than one thread state touched: undo, as the C API asks
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_ident), None)
        return False
    return bool(changed == 1)
