"""Both state stores, sqlite and a real PostgreSQL server, keep one writer per key."""

from __future__ import annotations

import asyncio
import time

import pytest

from actorium._virtual.stores import _make, check_url
from actorium._virtual.stores.base import Reminder
from actorium.exceptions import StaleActivationError, StateStoreError


def run(store_url, scenario):
    async def main():
        store = _make(store_url)
        try:
            return await scenario(store)
        finally:
            await store.close()
    return asyncio.run(main())


def test_a_claim_bumps_the_epoch_and_reads_the_saved_state(store_url):
    async def scenario(store):
        first = await store.claim("Meter", "m1")
        assert (first.data, first.version, first.epoch) == (None, 0, 1)
        version = await store.save("Meter", "m1", epoch=1, version=0, data=b"one", fmt="pickle")
        second = await store.claim("Meter", "m1")
        return version, second
    version, second = run(store_url, scenario)
    assert version == 1
    assert (second.data, second.version, second.epoch) == (b"one", 1, 2)


def test_a_stale_activation_cannot_overwrite_newer_state(store_url):
    """Split brain: activation 1 keeps running after activation 2 claimed the key."""
    async def scenario(store):
        old = await store.claim("Meter", "m2")
        await store.save("Meter", "m2", epoch=old.epoch, version=0, data=b"a", fmt="pickle")
        new = await store.claim("Meter", "m2")
        await store.save("Meter", "m2", epoch=new.epoch, version=new.version, data=b"b",
                         fmt="pickle")
        with pytest.raises(StaleActivationError) as refused:
            await store.save("Meter", "m2", epoch=old.epoch, version=1, data=b"lost",
                             fmt="pickle")
        # Even before the new activation writes anything, its claim fences the old one.
        newest = await store.claim("Meter", "m2")
        with pytest.raises(StaleActivationError):
            await store.save("Meter", "m2", epoch=new.epoch, version=2, data=b"x", fmt="pickle")
        return refused.value, await store.read("Meter", "m2"), newest
    error, row, newest = run(store_url, scenario)
    assert error.epoch == 1 and error.key == "m2" and "activation 2 claimed" in str(error)
    assert row.data == b"b" and row.version == 2 and row.epoch == newest.epoch == 3


def test_a_write_over_a_version_that_moved_on_is_refused(store_url):
    async def scenario(store):
        claim = await store.claim("Meter", "m3")
        await store.save("Meter", "m3", epoch=claim.epoch, version=0, data=b"v1", fmt="json")
        with pytest.raises(StaleActivationError, match="version 1, not 0"):
            await store.save("Meter", "m3", epoch=claim.epoch, version=0, data=b"v1'",
                             fmt="json")
        return await store.read("Meter", "m3")
    row = run(store_url, scenario)
    assert (row.data, row.fmt, row.version) == (b"v1", "json", 1)


def test_reminders_are_listed_due_moved_on_and_cancelled(store_url):
    now = time.time()

    async def scenario(store):
        soon = Reminder("Meter", "m4", "read", now - 1, 10.0)
        later = Reminder("Meter", "m4", "report", now + 60, None)
        other = Reminder("Pump", "p1", "read", now - 2, None)
        for reminder in (soon, later, other):
            await store.set_reminder(reminder)
        due = await store.due_reminders(now, 10)
        listed = await store.reminders("Meter", "m4")
        await store.reminder_fired(soon, soon.due + 10)
        await store.reminder_fired(other, None)
        # A firing that lost a race with a change (here: the due it fired is gone) is a no-op.
        await store.reminder_fired(soon, soon.due + 20)
        after = await store.reminders()
        cancelled = await store.cancel_reminder("Meter", "m4", "report")
        again = await store.cancel_reminder("Meter", "m4", "report")
        return due, listed, after, cancelled, again, await store.next_due()
    due, listed, after, cancelled, again, next_due = run(store_url, scenario)
    assert [(r.type_name, r.name) for r in due] == [("Pump", "read"), ("Meter", "read")]
    assert [r.name for r in listed] == ["read", "report"]
    assert {(r.name, r.due) for r in after} == {("read", now + 9), ("report", now + 60)}
    assert (cancelled, again) == (True, False)
    assert next_due == pytest.approx(now + 9)


def test_code_is_kept_by_content_id_and_the_latest_is_current(store_url):
    async def scenario(store):
        await store.register_code("Meter", b"1" * 16, b"class v1")
        await asyncio.sleep(0.01)
        await store.register_code("Meter", b"2" * 16, b"class v2")
        return (await store.code(b"1" * 16), await store.current_code("Meter"),
                await store.current_code("Nothing"), await store.counts())
    old, current, none, counts = run(store_url, scenario)
    assert (old, current, none, counts) == (b"class v1", b"2" * 16, None, {})


def test_store_urls_are_checked_and_a_dead_server_is_a_clear_error():
    with pytest.raises(ValueError, match="not supported"):
        check_url("redis://localhost")
    with pytest.raises(ValueError, match="needs a file path"):
        check_url("sqlite:///")

    async def scenario(store):
        await store.claim("Meter", "m1")
    with pytest.raises(StateStoreError, match="cannot connect") as failed:
        run("postgresql://actorium:secret@127.0.0.1:1/none", scenario)
    assert "secret" not in str(failed.value)


def test_actorium_start_refuses_a_state_store_it_cannot_use():
    import subprocess
    import sys
    done = subprocess.run([sys.executable, "-m", "actorium.cli", "start", "--head",
                           "--state-store", "redis://localhost/0"], capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert "--state-store: state store 'redis://localhost/0' is not supported" in done.stdout
