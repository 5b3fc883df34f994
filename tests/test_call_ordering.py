"""Calls from one caller run in the order they were made, whatever path they took."""

from __future__ import annotations

import threading

import pytest


@pytest.mark.timeout(60)
def test_calls_made_before_placement_and_after_run_in_order(runtime):
    # The first calls are buffered in the caller until the node places the actor; the later
    # ones go straight to the worker. The actor must still see 0, 1, 2, ... in order.
    @runtime.remote
    class Ledger:
        def __init__(self):
            self.seen = []

        def record(self, n):
            self.seen.append(n)
            return len(self.seen)

        def entries(self):
            return self.seen

    ledger = Ledger.remote()
    refs = [ledger.record.remote(n) for n in range(3000)]
    assert runtime.get(refs) == list(range(1, 3001))
    assert runtime.get(ledger.entries.remote()) == list(range(3000))


@pytest.mark.timeout(60)
def test_each_thread_of_a_driver_sees_its_own_calls_in_order(runtime):
    # Every driver thread sends through its own socket; per-thread order must survive.
    @runtime.remote
    class Ledger:
        def __init__(self):
            self.seen = []

        def record(self, thread, n):
            self.seen.append((thread, n))

        def entries(self):
            return self.seen

    ledger = Ledger.remote()
    runtime.get(ledger.entries.remote())

    def caller(thread):
        runtime.get([ledger.record.remote(thread, n) for n in range(500)])

    threads = [threading.Thread(target=caller, args=(t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    entries = runtime.get(ledger.entries.remote())
    assert len(entries) == 2000
    for t in range(4):
        assert [n for thread, n in entries if thread == t] == list(range(500))


@pytest.mark.timeout(60)
def test_restarted_actor_takes_new_calls_in_order(runtime):
    @runtime.remote(max_restarts=1)
    class Ledger:
        def __init__(self):
            self.seen = []

        def record(self, n):
            self.seen.append(n)
            return n

        def entries(self):
            return self.seen

    ledger = Ledger.remote()
    assert runtime.get([ledger.record.remote(n) for n in range(10)]) == list(range(10))
    runtime.kill(ledger, no_restart=False)
    # Calls made after the restart land on the new instance, in order, starting afresh.
    deadline_refs = None
    for _attempt in range(50):
        try:
            deadline_refs = runtime.get([ledger.record.remote(n) for n in range(100)], timeout=10)
            break
        except runtime.exceptions.ActorDiedError:
            continue  # calls that raced the restart fail cleanly; retry
    assert deadline_refs == list(range(100))
    entries = runtime.get(ledger.entries.remote())
    assert entries[-100:] == list(range(100))
    assert len(entries) <= 100 + 100  # only the new incarnation's calls
