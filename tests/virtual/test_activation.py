"""Virtual actors: one activation per key, passivation with saved state, reactivation."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import threading
import time

import pytest

import actorium
from actorium._virtual.stores import _make
from actorium.exceptions import ActivationError, StaleActivationError


@actorium.virtual(idle_timeout=0.3)
class Counter(actorium.VirtualActor):
    def __init__(self) -> None:
        self.state = {"n": 0, "seen": []}

    async def incr(self, by: int = 1) -> int:
        self.state["n"] += by
        return int(self.state["n"])

    async def note(self, item: str) -> int:
        self.state["seen"].append(item)
        return len(self.state["seen"])

    async def who(self) -> tuple[int, int, int]:
        return os.getpid(), self.epoch, id(self)

    async def read(self) -> dict:
        return dict(self.state)

    async def save(self) -> int:
        await self.save_state()
        return self.state_version

    async def rest(self) -> None:
        self.deactivate()


@actorium.virtual(type_name="Patient", idle_timeout=60)
class Patient(Counter._cls):   # the same methods, never idle long enough to be passivated
    pass


@actorium.virtual(type_name="Doc", idle_timeout=60, state_format="json")
class Doc(actorium.VirtualActor):
    async def put(self, field: str, value: float) -> None:
        self.state[field] = value
        await self.save_state()


@actorium.virtual(type_name="Fragile", idle_timeout=5)
class Fragile(actorium.VirtualActor):
    async def on_activate(self) -> None:
        # The key is a file path: the first activation fails (and leaves the file behind).
        if not os.path.exists(self.key):  # noqa: ASYNC240 - a test's marker file
            open(self.key, "w").close()  # noqa: ASYNC230
            raise RuntimeError("the device did not answer")

    async def ping(self) -> str:
        return "pong"


def store_row(url: str, type_name: str, key: str):
    async def read():
        store = _make(url)
        try:
            return await store.read(type_name, key)
        finally:
            await store.close()
    return asyncio.run(read())


def wait_for(predicate, timeout: float = 30.0, what: str = "it"):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout} s"
        time.sleep(0.05)


def test_a_handle_costs_nothing_and_the_first_call_activates(use_store, sqlite_url):
    use_store(sqlite_url)
    handle = Counter.get("lazy")
    assert isinstance(handle, actorium.ActorHandle)
    assert repr(handle) == "VirtualActor(Counter, 'lazy')"
    time.sleep(0.2)
    assert not os.path.exists(sqlite_url.removeprefix("sqlite:///")) or \
        store_row(sqlite_url, "Counter", "lazy") is None
    assert actorium.get(handle.incr.remote(5)) == 5
    assert store_row(sqlite_url, "Counter", "lazy").epoch == 1
    assert Counter.get("lazy") == handle and Counter.get("other") != handle
    # state_format="json": the store holds a JSON document other programs can read.
    actorium.get(Doc.get("d1").put.remote("celsius", 21.5))
    row = store_row(sqlite_url, "Doc", "d1")
    assert (row.fmt, json.loads(row.data)) == ("json", {"celsius": 21.5})


def test_state_is_saved_on_passivation_and_loaded_by_the_next_activation(use_store, store_url):
    use_store(store_url)
    meter = Counter.get("m1")
    assert actorium.get([meter.incr.remote() for _ in range(3)]) == [1, 2, 3]
    first = actorium.get(meter.who.remote())
    wait_for(lambda: actorium.util.state.summarize_virtual_actors()["passivations_total"] > 0,
             what="passivation")
    assert store_row(store_url, "Counter", "m1").version > 0     # saved on the way out
    assert actorium.get(meter.incr.remote()) == 4       # reactivated with its state
    again = actorium.get(meter.who.remote())
    assert again[1] > first[1]
    summary = actorium.util.state.summarize_virtual_actors()
    assert summary["passivations_total"] >= 1 and summary["activations_total"] >= 2


def test_concurrent_first_calls_from_many_processes_make_one_activation(use_store, sqlite_url):
    use_store(sqlite_url, num_cpus=4)

    @actorium.remote
    def call_from_a_task(handle, start_at: float):
        time.sleep(max(start_at - time.time(), 0))
        return actorium.get([handle.who.remote() for _ in range(5)])

    hot = Counter.get("hot")
    start_at = time.time() + 1.5
    from_tasks = [call_from_a_task.remote(hot, start_at) for _ in range(6)]
    from_threads: list = []

    def driver_thread() -> None:
        time.sleep(max(start_at - time.time(), 0))
        from_threads.extend(actorium.get([hot.who.remote() for _ in range(5)]))

    threads = [threading.Thread(target=driver_thread) for _ in range(4)]
    for thread in threads:
        thread.start()
    seen = [who for batch in actorium.get(from_tasks, timeout=60) for who in batch]
    for thread in threads:
        thread.join(60)
    seen += from_threads
    assert len(seen) == 50
    assert len(set(seen)) == 1, f"more than one activation answered: {set(seen)}"
    assert store_row(sqlite_url, "Counter", "hot").epoch == 1


def test_calls_racing_passivation_are_neither_lost_nor_run_twice(use_store, store_url):
    use_store(store_url)

    @actorium.virtual(type_name="Ledger", idle_timeout=0.05)
    class Ledger(Counter._cls):   # the same methods, passivated after 50 ms idle
        pass

    ledger = Ledger.get("l1")
    sent = []
    for burst in range(12):
        refs = [ledger.note.remote(f"{burst}-{i}") for i in range(8)]
        sent += [f"{burst}-{i}" for i in range(8)]
        actorium.get(refs[:2])          # the rest are in flight when it turns idle
        time.sleep(0.02 + (burst % 4) * 0.03)
    assert actorium.get(ledger.note.remote("last")) == len(sent) + 1
    state = actorium.get(ledger.read.remote())
    assert state["seen"] == sent + ["last"], "a call was lost, run twice or reordered"
    assert actorium.get(ledger.who.remote())[1] > 2, "it was never passivated in between"


def test_a_stale_activation_cannot_overwrite_newer_state(use_store, store_url):
    use_store(store_url)

    @actorium.virtual(type_name="Counter", idle_timeout=60)
    class Steady(Counter._cls):   # stays active while the test plays the other activation
        pass

    device = Steady.get("split")
    assert actorium.get(device.incr.remote(10)) == 10
    old_epoch = actorium.get(device.who.remote())[1]

    async def another_activation_elsewhere():
        store = _make(store_url)
        try:
            claim = await store.claim("Counter", "split")
            import cloudpickle
            await store.save("Counter", "split", epoch=claim.epoch, version=claim.version,
                             data=cloudpickle.dumps({"n": 100, "seen": []}), fmt="pickle")
        finally:
            await store.close()

    asyncio.run(another_activation_elsewhere())
    with pytest.raises(StaleActivationError) as refused:
        actorium.get(device.save.remote())
    assert refused.value.epoch == old_epoch
    # The refused activation deactivated itself; the next call activates the key again,
    # from the state the newer activation wrote.
    assert actorium.get(device.incr.remote(), timeout=30) == 101
    assert store_row(store_url, "Counter", "split").data is not None


def test_a_dead_worker_loses_unsaved_work_and_the_key_comes_back_from_saved_state(use_store,
                                                                                   sqlite_url):
    use_store(sqlite_url)

    @actorium.virtual(type_name="Durable", idle_timeout=60)
    class Durable(Counter._cls):
        pass

    device = Durable.get("d1")
    assert actorium.get(device.incr.remote(5)) == 5
    actorium.get(device.save.remote())
    assert actorium.get(device.incr.remote(2)) == 7      # not saved
    pid, epoch, _ = actorium.get(device.who.remote())
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while True:
        try:
            value = actorium.get(device.incr.remote(), timeout=30)
            break
        except actorium.exceptions.ActorDiedError:
            assert time.monotonic() < deadline   # calls in flight to the dead worker fail
            time.sleep(0.1)
    assert value == 6
    new_pid, new_epoch, _ = actorium.get(device.who.remote())
    assert new_pid != pid and new_epoch > epoch


def test_kill_ends_the_activation_and_the_next_call_activates_again(use_store, sqlite_url):
    use_store(sqlite_url)
    device = Patient.get("killed")
    assert actorium.get(device.incr.remote(3)) == 3
    actorium.get(device.save.remote())
    epoch = actorium.get(device.who.remote())[1]
    assert actorium.get(device.incr.remote()) == 4      # not saved: kill() loses it
    actorium.kill(device)
    assert actorium.get(device.incr.remote(), timeout=30) == 4
    after_kill = actorium.get(device.who.remote())[1]
    assert after_kill > epoch
    # deactivate(): passivated (and saved) once the call is over; the next call reactivates.
    actorium.get(device.rest.remote())
    assert actorium.get(device.incr.remote(), timeout=30) == 5
    assert actorium.get(device.who.remote())[1] > after_kill


def test_handles_pickle_and_work_from_tasks_actors_and_asyncio(use_store, sqlite_url):
    use_store(sqlite_url)

    @actorium.remote
    def from_task(handle):
        return actorium.get(handle.incr.remote())

    @actorium.remote
    class Forwarder:
        async def forward(self, handle):
            return await handle.incr.remote()

    shared = Counter.get("shared")
    assert actorium.get(from_task.remote(shared)) == 1
    assert actorium.get(Forwarder.remote().forward.remote(shared)) == 2

    async def main():
        return await asyncio.gather(*(Counter.get("shared").incr.remote() for _ in range(3)))

    assert sorted(asyncio.run(main())) == [3, 4, 5]
    import pickle
    assert pickle.loads(pickle.dumps(shared)).key == "shared"


def test_a_failing_activation_fails_its_calls_and_the_next_call_tries_again(use_store,
                                                                            sqlite_url,
                                                                            tmp_path):
    use_store(sqlite_url)
    device = Fragile.get(str(tmp_path / "first-attempt"))
    with pytest.raises(ActivationError, match="the device did not answer"):
        actorium.get(device.ping.remote())
    assert actorium.get(device.ping.remote()) == "pong"


def test_bad_declarations_keys_and_options_are_clear_errors():
    with pytest.raises(TypeError, match="subclass of actorium.VirtualActor"):
        actorium.virtual(object)
    with pytest.raises(TypeError, match="unknown virtual actor option"):
        actorium.virtual(idle_timout=3)
    with pytest.raises(ValueError, match="idle_timeout must be a positive"):
        actorium.virtual(idle_timeout=0)
    with pytest.raises(ValueError, match="state_format"):
        actorium.virtual(state_format="xml")

    class Needy(actorium.VirtualActor):
        def __init__(self, port: int) -> None:
            self.port = port
    with pytest.raises(TypeError, match="must take no arguments"):
        actorium.virtual(Needy)
    with pytest.raises(TypeError, match="is a str"):
        Counter.get(17)
    with pytest.raises(ValueError, match="non-empty"):
        Counter.get("")
    with pytest.raises(TypeError, match=r"use Counter.get\(key\)"):
        Counter.remote()
    # The base class's helpers are not remote methods; reminders are delivered as calls.
    assert {"incr", "note", "receive_reminder"} <= set(Counter._methods)
    assert not {"save_state", "set_reminder", "set_timer", "on_activate"} & set(Counter._methods)
