"""Restart back-off and intensity: the pure policy, and a crash-looping actor (issue test 4)."""

from __future__ import annotations

import os
import pathlib
import time

import psutil
import pytest

import actorium
from actorium._supervision.policy import Backoff, Intensity, RestartHistory
from actorium.exceptions import ActorDiedError


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# ---------------------------------------------------------------------- the policy, no sleeping
def test_backoff_doubles_up_to_the_longest_delay_with_jitter_below_it():
    backoff = Backoff(0.1, 2.0)
    assert [backoff.delay(k, 0.999999) for k in range(7)] == pytest.approx(
        [0.1, 0.2, 0.4, 0.8, 1.6, 2.0, 2.0], rel=1e-5)
    assert backoff.delay(3, 0.0) == pytest.approx(0.4)   # jitter: half to all of the base
    assert Backoff(0.0, 0.0).delay(10, 0.5) == 0.0


def test_a_healthy_stretch_resets_the_backoff():
    clock = FakeClock()
    history = RestartHistory(Backoff(0.1, 2.0), None, clock=clock, draw=lambda: 0.999999)
    delays = []
    for _ in range(4):
        delays.append(history.next_restart())
        clock.now += 0.5
    assert delays == pytest.approx([0.1, 0.2, 0.4, 0.8], rel=1e-5)
    clock.now += 10          # the last incarnation ran well for 10 s
    assert history.next_restart() == pytest.approx(0.1, rel=1e-5)


def test_intensity_refuses_the_restart_beyond_n_within_t():
    clock = FakeClock()
    history = RestartHistory(Backoff(0.0, 0.0), Intensity(2, 10.0), clock=clock)
    assert history.next_restart() == 0.0
    clock.now += 1
    assert history.next_restart() == 0.0
    clock.now += 1
    assert history.next_restart() is None          # a third within 10 s
    clock.now += 20
    assert history.next_restart() == 0.0           # the window moved on


def test_bad_restart_options_are_refused_with_the_option_named():
    with pytest.raises(ValueError, match="restart_backoff"):
        actorium.remote(max_restarts=1, restart_backoff=(2.0, 1.0))(type("A", (), {}))
    with pytest.raises(ValueError, match="restart_intensity"):
        actorium.remote(max_restarts=1, restart_intensity=(3, 0))(type("B", (), {}))


# ---------------------------------------------------------------------- a crash-looping actor
class CrashLoop:
    """Notes when each incarnation starts, then takes its worker down with it."""

    def __init__(self, path: str) -> None:
        with open(path, "a") as log:
            log.write(f"{time.monotonic()}\n")
        os._exit(1)

    def never(self) -> None:
        """Never runs."""


def _cpu_seconds(process: psutil.Process, *, children: bool = True) -> float:
    times = process.cpu_times()
    own = times.user + times.system
    return own + times.children_user + times.children_system if children else own


def _starts(log: pathlib.Path) -> list[float]:
    try:
        return [float(line) for line in log.read_text().split()]
    except FileNotFoundError:
        return []


@pytest.mark.timeout(120)
def test_a_crash_looping_actor_backs_off_and_costs_little_cpu(start_runtime, tmp_path):
    start_runtime(num_cpus=1)
    node = psutil.Process(actorium._api._embedded.process.pid)   # type: ignore[union-attr]
    log = tmp_path / "starts"
    node_cpu_before, wall_before = _cpu_seconds(node, children=False), time.monotonic()
    actor = actorium.remote(CrashLoop).options(
        max_restarts=-1, restart_backoff=(0.1, 2.0)).remote(str(log))
    # Count starts rather than time a window: on a loaded machine a worker may take seconds
    # to start, so a fixed window may hold one start or none.
    deadline = time.monotonic() + 90
    while len(_starts(log)) < 6 and time.monotonic() < deadline:
        time.sleep(0.1)
    node_cpu = _cpu_seconds(node, children=False) - node_cpu_before
    wall = time.monotonic() - wall_before
    actorium.kill(actor)
    starts = _starts(log)
    assert len(starts) >= 6, f"only {len(starts)} starts in {wall:.1f} s"
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    # Each gap is at least the jittered back-off of its restart: half of 0.1 * 2**k (<= 2 s).
    # Without back-off the gaps would be just the start-up time of a worker.
    for k, gap in enumerate(gaps):
        assert gap >= 0.5 * min(2.0, 0.1 * 2 ** k) * 0.95, (k, gaps)
    # Between restarts the node idles, not spins. (The workers' own CPU is what starting a
    # Python process costs, which on a loaded machine varies too much for a bound of its own.)
    assert node_cpu < 0.25 * wall, f"the node used {node_cpu:.2f} s CPU in {wall:.2f} s"
    print(f"crash loop: {len(starts)} starts in {wall:.1f} s, {node_cpu:.2f} s CPU in the "
          f"node; gaps {gaps}")


# ---------------------------------------------------------------------- intensity of one actor
class Fragile:
    def ping(self) -> int:
        return os.getpid()

    def crash(self) -> None:
        os._exit(3)


def test_an_actor_restarting_too_often_is_given_up(start_runtime):
    start_runtime(num_cpus=1)
    actor = actorium.remote(Fragile).options(
        max_restarts=-1, restart_backoff=(0.0, 0.0), restart_intensity=(2, 60.0),
        num_cpus=1).remote()
    pids = set()
    for _ in range(2):
        pids.add(actorium.get(actor.ping.remote(), timeout=30))
        with pytest.raises(ActorDiedError, match="is restarting"):  # in flight at the crash
            actorium.get(actor.crash.remote(), timeout=30)
    pids.add(actorium.get(actor.ping.remote(), timeout=30))
    with pytest.raises(ActorDiedError, match=r"more than 2 restart\(s\) within 60 s"):
        actorium.get(actor.crash.remote(), timeout=30)
    with pytest.raises(ActorDiedError, match="given up"):
        actorium.get(actor.ping.remote(), timeout=30)
    assert len(pids) == 3
