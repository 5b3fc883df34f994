"""Durable reminders fire when the actor is passivated and after a restart; timers do not
outlive their activation."""

from __future__ import annotations

import time

import actorium


@actorium.virtual(type_name="Boiler", idle_timeout=0.2)
class Boiler(actorium.VirtualActor):
    async def schedule(self, due: float, period: float | None = None) -> None:
        await self.set_reminder("inspect", due=due, period=period)

    async def receive_reminder(self, reminder: actorium.Reminder) -> None:
        self.state.setdefault("inspections", []).append((reminder.name, self.epoch))
        await self.save_state()

    async def read(self) -> dict:
        return dict(self.state)

    async def tick(self) -> None:
        self.state["ticks"] = self.state.get("ticks", 0) + 1

    async def start_ticking(self) -> None:
        self.set_timer("t", self.tick, due=0.0, period=0.05)


def wait_for(predicate, timeout: float = 30.0, what: str = "it"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout} s"
        time.sleep(0.1)


def test_a_reminder_reactivates_a_passivated_actor(use_store, store_url):
    use_store(store_url)
    boiler = Boiler.get("b1")
    # Due well after the 0.2 s idle timeout, so that even on a loaded machine the actor has
    # passivated before the reminder fires; the reminder activates it again.
    actorium.get(boiler.schedule.remote(due=3.0))
    wait_for(lambda: actorium.util.state.summarize_virtual_actors()["passivations_total"],
             what="passivation")
    wait_for(lambda: not Boiler.reminders("b1"), what="the one-shot reminder")
    inspections = actorium.get(boiler.read.remote())["inspections"]
    assert [name for name, _ in inspections] == ["inspect"]
    assert inspections[0][1] > 1     # not the activation that set it (epoch 1)


def test_reminders_survive_a_restart_of_the_runtime_and_can_be_listed_and_cancelled(
        use_store, sqlite_url):
    use_store(sqlite_url)
    boiler = Boiler.get("b2")
    # Due after the shutdown below (a few hundred ms away), so that it fires in the new runtime.
    actorium.get(boiler.schedule.remote(due=4.0, period=60.0))
    actorium.get(Boiler.get("b3").schedule.remote(due=600.0))
    listed = actorium.util.state.list_reminders(type_name="Boiler")
    assert [(r["key"], r["period"]) for r in listed] == [("b2", 60.0), ("b3", None)]
    assert not actorium.get(boiler.read.remote()).get("inspections")   # not fired here
    actorium.shutdown()
    # A new runtime on the same store: the due reminder fires there, activating b2.
    use_store(sqlite_url)
    state = wait_for(lambda: actorium.get(Boiler.get("b2").read.remote()).get("inspections"),
                     what="the reminder after the restart")
    assert [name for name, _ in state] == ["inspect"]
    # Once the firing is done, the periodic reminder has moved on by its period.
    wait_for(lambda: Boiler.reminders("b2")[0].due > time.time() + 50,
             what="the reminder moving on")
    assert Boiler.cancel_reminder("b3", "inspect") is True
    assert Boiler.cancel_reminder("b3", "inspect") is False
    assert [r.key for r in Boiler.reminders()] == ["b2"]


def test_timers_tick_while_active_and_do_not_keep_the_actor_alive(use_store, sqlite_url):
    use_store(sqlite_url)
    boiler = Boiler.get("b4")
    actorium.get(boiler.start_ticking.remote())
    wait_for(lambda: actorium.util.state.summarize_virtual_actors()["passivations_total"],
             what="passivation despite the timer")
    ticks = actorium.get(boiler.read.remote()).get("ticks", 0)
    assert ticks >= 1                      # it ticked, and its ticks were saved on the way out
    time.sleep(0.5)                        # the new activation has no timer: nothing ticks
    assert actorium.get(boiler.read.remote()).get("ticks", 0) == ticks
