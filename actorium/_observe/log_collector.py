"""Node side of log collection: read every worker's output, file it, and pass it on.

Each worker's stdout and stderr are pipes to the node. Lines (tagged with their origin by
``worker_output``) are

* appended to per-worker files ``<session>/logs/worker-<pid>.out|.err``, rotated by size;
* kept in a bounded in-memory ring, for the dashboard's log page and actor detail view;
* batched every 100 ms to subscribed drivers (``log_to_driver``), which print them prefixed
  with their origin, and to live dashboard streams.

A line that is a driver event (``driver_events``) is only passed on (stream ``"event"``):
it is neither filed nor kept in the ring.

The node must read the pipes whatever happens: a worker blocks once its pipe buffer is full.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import deque
from collections.abc import Callable
from typing import IO, Any

from actorium._observe.driver_events import MARK as EVENT_MARK
from actorium._observe.driver_events import STREAM as EVENT_STREAM
from actorium._observe.worker_output import SEPARATOR

LINE_RING = 5000
FLUSH_INTERVAL = 0.1
_READ_CHUNK = 65536
_MAX_LINE = 64 * 1024


class RotatingFile:
    """An append-only text file that is renamed to ``.1`` (``.2``...) once it grows too big."""

    def __init__(self, path: str, max_bytes: int, backups: int) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.backups = backups
        self._file: IO[str] | None = None
        self._size = 0

    def write(self, text: str) -> None:
        if self._file is None:
            self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - kept open
            self._size = self._file.tell()
        self._file.write(text)
        self._size += len(text)
        if self._size >= self.max_bytes:
            self._rotate()

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def _rotate(self) -> None:
        self.close()
        for index in range(self.backups - 1, 0, -1):
            older = f"{self.path}.{index}"
            if os.path.exists(older):
                os.replace(older, f"{self.path}.{index + 1}")
        if self.backups > 0:
            os.replace(self.path, f"{self.path}.1")
        else:
            os.remove(self.path)
        self._size = 0


class LogLine:
    """One line of worker output."""

    __slots__ = ("seq", "time", "pid", "origin", "stream", "text")

    def __init__(self, seq: int, pid: int, origin: str, stream: str, text: str) -> None:
        self.seq = seq
        self.time = time.time()
        self.pid = pid
        self.origin = origin
        self.stream = stream
        self.text = text

    @property
    def actor_id(self) -> str:
        _, _, actor_id = self.origin.partition(":")
        return actor_id

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "time": self.time, "pid": self.pid, "origin": self.origin,
                "actor_id": self.actor_id, "stream": self.stream, "text": self.text}


class LogCollector:
    """Reads worker pipes; keeps, files and forwards their lines."""

    def __init__(self, log_dir: str, *, max_bytes: int = 10 * 1024 * 1024,
                 backups: int = 3) -> None:
        self.log_dir = log_dir
        os.makedirs(log_dir, mode=0o700, exist_ok=True)
        self.max_bytes = max_bytes
        self.backups = backups
        self.ring: deque[LogLine] = deque(maxlen=LINE_RING)
        self._seq = 0
        self._files: dict[tuple[int, str], RotatingFile] = {}
        self._batch: list[LogLine] = []
        # Called with each batch of new lines (drivers, dashboard streams).
        self.listeners: list[Callable[[list[LogLine]], None]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._readers: set[asyncio.Task[None]] = set()   # one per worker pipe, until EOF

    def start(self) -> None:
        self._flusher = asyncio.get_running_loop().create_task(self._flush_forever())

    def attach(self, pid: int, stdout: asyncio.StreamReader | None,
               stderr: asyncio.StreamReader | None) -> None:
        """Start reading a new worker's pipes."""
        loop = asyncio.get_running_loop()
        for name, reader in (("out", stdout), ("err", stderr)):
            if reader is not None:
                task = loop.create_task(self._read(pid, name, reader))
                self._readers.add(task)
                task.add_done_callback(self._readers.discard)

    def file_of(self, pid: int, stream: str) -> str:
        return os.path.join(self.log_dir, f"worker-{pid}.{stream}")

    async def _read(self, pid: int, stream: str, reader: asyncio.StreamReader) -> None:
        partial = b""
        while True:
            try:
                chunk = await reader.read(_READ_CHUNK)
            except (OSError, asyncio.CancelledError):
                break
            if not chunk:
                break
            partial += chunk
            *lines, partial = partial.split(b"\n")
            if len(partial) > _MAX_LINE:   # a runaway line without newline: cut it
                lines.append(partial)
                partial = b""
            for line in lines:
                self._add(pid, stream, line.decode("utf-8", "replace"))
        if partial:
            self._add(pid, stream, partial.decode("utf-8", "replace"))
        file = self._files.pop((pid, stream), None)
        if file is not None:
            file.close()

    def _add(self, pid: int, stream: str, raw: str) -> None:
        origin, separator, text = raw.partition(SEPARATOR)
        if not separator:
            origin, text = "", raw
        self._seq += 1
        if text.startswith(EVENT_MARK):
            # A driver event (driver_events): passed on to the drivers, but not a log line.
            self._batch.append(LogLine(self._seq, pid, origin, EVENT_STREAM, text))
            return
        line = LogLine(self._seq, pid, origin, stream, text)
        self.ring.append(line)
        self._batch.append(line)
        file = self._files.get((pid, stream))
        if file is None:
            file = self._files[(pid, stream)] = RotatingFile(
                self.file_of(pid, stream), self.max_bytes, self.backups)
        file.write(f"{origin}\t{text}\n" if origin else f"{text}\n")

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_INTERVAL)
            self.flush()

    def flush(self) -> None:
        """Write files through and hand the pending batch to every listener."""
        for file in self._files.values():
            file.flush()
        batch, self._batch = self._batch, []
        if batch:
            for listener in list(self.listeners):
                listener(batch)

    def recent(self, *, pid: int | None = None, actor_id: str | None = None,
               after: int = 0, limit: int = 500) -> list[dict[str, Any]]:
        """The latest lines (oldest first), optionally of one worker or one actor."""
        chosen = [line for line in self.ring
                  if line.seq > after and (pid is None or line.pid == pid)
                  and (actor_id is None or line.actor_id == actor_id)]
        return [line.as_dict() for line in chosen[-limit:]]

    def close(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
        for reader in list(self._readers):
            reader.cancel()
        self.flush()
        for file in self._files.values():
            file.close()
        self._files.clear()
