"""Shipping user code (functions and classes) to workers once, by content id."""

from __future__ import annotations

import hashlib
import threading
from typing import Any

import cloudpickle

from actorium.exceptions import SerializationError


class ShippableCode:
    """A function or class pickled lazily, once, and named by a hash of its bytes."""

    __slots__ = ("target", "_lock", "_pickled", "_code_id")

    def __init__(self, target: Any) -> None:
        self.target = target
        self._lock = threading.Lock()
        self._pickled: bytes | None = None
        self._code_id: bytes | None = None

    def pickled(self) -> tuple[bytes, bytes]:
        """(code_id, pickled bytes); raises SerializationError naming the target."""
        if self._pickled is None:
            with self._lock:
                if self._pickled is None:
                    try:
                        data = cloudpickle.dumps(self.target, protocol=5)
                    except Exception as exc:
                        name = getattr(self.target, "__qualname__", repr(self.target))
                        raise SerializationError(
                            f"cannot ship {name} to workers: {exc} (does it capture an "
                            f"unpicklable object such as a lock, socket or open file?)") from exc
                    self._code_id = hashlib.blake2b(data, digest_size=16).digest()
                    self._pickled = data
        assert self._code_id is not None
        return self._code_id, self._pickled


class CodeCache:
    """Worker side: code ids to loaded functions/classes.

    Bytes are registered on the loop thread as messages arrive, and loaded on first use by
    whichever thread needs them: a constructor running on a pool thread must find code that
    arrived with an *earlier* message, even if that message's own constructor has not run yet.
    """

    def __init__(self) -> None:
        self._pickled: dict[bytes, bytes] = {}
        self._loaded: dict[bytes, Any] = {}
        self._lock = threading.Lock()

    def add(self, code_id: bytes, data: bytes | None) -> None:
        """Remember code that arrived with a message (loop thread)."""
        if data is not None and code_id not in self._loaded:
            self._pickled.setdefault(code_id, data)

    def load(self, code_id: bytes) -> Any:
        """The function or class for ``code_id``; unpickled once (any thread)."""
        target = self._loaded.get(code_id)
        if target is not None:
            return target
        with self._lock:
            target = self._loaded.get(code_id)
            if target is None:
                data = self._pickled.get(code_id)
                if data is None:
                    raise LookupError(f"code {code_id.hex()} was never sent to this worker")
                target = cloudpickle.loads(data)
                self._loaded[code_id] = target
                del self._pickled[code_id]
        return target
