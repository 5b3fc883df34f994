"""The object table under several threads: one rule, and no traceback under load.

User threads create refs and put values while the runtime's loop completes, drops and
reports entries. Before the rule in ``actorium/_core/objects.py``, the driver's periodic
report walked the table while a caller thread added an entry, and the timer callback died
with "dictionary changed size during iteration" (seen with 200,000 pending calls).
"""

from __future__ import annotations

import logging
import os
import threading
import time

import pytest

import actorium as ray
from actorium._core.objects import READY, ObjectTable
from actorium._observe import worker_stats
from actorium._observe.object_summary import summarize

pytestmark = pytest.mark.timeout(180)

# The load test's size; ACTORIUM_LOAD_CALLS=200000 runs it at the size the bug was seen at.
LOAD_CALLS = int(os.environ.get("ACTORIUM_LOAD_CALLS", "30000"))


def _hammer(table: ObjectTable, stop: threading.Event, errors: list[BaseException],
            base: int) -> None:
    """What a caller thread does: new owned objects, refs taken and released."""
    n = 0
    try:
        while not stop.is_set():
            object_id = (base + n).to_bytes(16, "big")
            table.expect(object_id)
            table.add_local_ref(object_id, table.own_address)
            table.complete(object_id, READY, 0, b"x", [])
            table.released.append(object_id)  # what ObjectRef.__del__ does
            n += 1
    except BaseException as error:  # noqa: BLE001 - reported by the test
        errors.append(error)


def test_table_walks_never_race_with_caller_threads() -> None:
    table = ObjectTable("driver-address")
    stop = threading.Event()
    errors: list[BaseException] = []
    # A standing population, so every walk has something to go through.
    for i in range(20_000):
        object_id = (10**9 + i).to_bytes(16, "big")
        table.expect(object_id)
        table.add_local_ref(object_id, table.own_address)
    writers = [threading.Thread(target=_hammer, args=(table, stop, errors, k * 10**8))
               for k in range(1, 4)]
    for writer in writers:
        writer.start()
    walks = 0
    deadline = time.monotonic() + 3
    try:
        while time.monotonic() < deadline:  # this thread plays the loop: drain and report
            table.drain_released()
            summary = summarize(table, "driver", os.getpid())
            assert summary["count"] >= 20_000
            for object_id, entry in table.snapshot():
                assert entry.owner == "driver-address", object_id
            walks += 1
    finally:
        stop.set()
        for writer in writers:
            writer.join(timeout=30)
    assert not errors, errors
    assert walks > 0
    table.drain_released()
    assert len(table.snapshot()) == 20_000  # every hammered object was dropped again


@ray.remote
class Sink:
    def __init__(self) -> None:
        self.total = 0

    def add(self, value: int) -> int:
        self.total += value
        return self.total


def test_driver_reports_while_threads_put_get_and_call(
        runtime: object, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """Thousands of pending calls and refs from several threads while the driver reports
    its object table every few milliseconds: no callback of the runtime fails."""
    monkeypatch.setattr(worker_stats, "REPORT_INTERVAL", 0.005)
    caplog.set_level(logging.ERROR)
    sink = Sink.remote()
    ray.get(sink.add.remote(0))
    errors: list[BaseException] = []
    per_thread = LOAD_CALLS // 4

    def caller() -> None:
        try:
            refs = [sink.add.remote(1) for _ in range(per_thread)]
            ray.get(refs[-1], timeout=150)
            del refs
        except BaseException as error:  # noqa: BLE001 - reported by the test
            errors.append(error)

    def putter() -> None:
        try:
            for i in range(per_thread // 4):
                ref = ray.put(i)
                assert ray.get(ref) == i
                del ref
        except BaseException as error:  # noqa: BLE001 - reported by the test
            errors.append(error)

    threads = [threading.Thread(target=f) for f in (caller, caller, caller, caller, putter,
                                                     putter)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=170)
    assert not any(thread.is_alive() for thread in threads)
    assert not errors, errors
    assert ray.get(sink.add.remote(0), timeout=60) == 4 * per_thread
    failures = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not failures, [r.getMessage() for r in failures][:5]
