"""Digital twins that survive crashes: a supervisor, at-least-once calls and checkpoints.

A pump station has a few pumps; each has a ``PumpTwin`` actor that folds the pump's readings
into its state (reading count, running mean pressure, peak). The twins and an ``AlertHub``
are children of one ``actorium.Supervisor``. While the readings stream in, the script crashes
some twins (``kill(..., no_restart=False)`` stands in for a bug or a lost process):

* the supervisor restarts each crashed twin (``one_for_one``: the others are untouched);
* ``max_task_retries=-1``: calls that were in flight when a twin died are sent again to the
  new incarnation, in their original order (at-least-once);
* ``checkpoint_every=1``: a twin saves its state after every reading, before the reading's
  result is returned, and a restarted twin resumes from that state;
* each reading carries its sequence number and a twin ignores numbers it has already folded
  in, so a reading delivered twice counts once: at-least-once delivery plus idempotence is
  exactly-once *effect*.

At the end every twin's state must equal what the readings say it should be.

    python examples/supervised_twins.py [--pumps 6] [--readings 300] [--crashes 3] [--seed 5]
"""

from __future__ import annotations

import argparse
import random
import time
from typing import Any

import actorium

ALERT_BAR = 9.0   # pressure (bar) that raises an alert


@actorium.remote
class AlertHub:
    """Counts alerts per pump; the twins report to it."""

    def __init__(self) -> None:
        self.alerts: dict[str, int] = {}

    def report(self, pump: str) -> None:
        self.alerts[pump] = self.alerts.get(pump, 0) + 1

    def counts(self) -> dict[str, int]:
        return dict(self.alerts)


@actorium.remote
class PumpTwin:
    """The state of one pump, rebuilt from its readings."""

    def __init__(self, pump: str) -> None:
        self.pump = pump
        self.last_seq = -1          # highest reading folded in: replays are ignored
        self.count = 0
        self.total = 0.0
        self.peak = 0.0
        self.restored = False

    def reading(self, seq: int, bar: float) -> int:
        if seq <= self.last_seq:
            return self.count       # a resent call that had already run before the crash
        self.last_seq = seq
        self.count += 1
        self.total += bar
        self.peak = max(self.peak, bar)
        return self.count

    def summary(self) -> dict[str, Any]:
        return {"count": self.count, "mean": self.total / max(self.count, 1),
                "peak": self.peak, "last_seq": self.last_seq, "restored": self.restored}

    # --- checkpoint hooks: what to save, and how to take it back after a restart
    def __actorium_checkpoint__(self) -> dict[str, Any]:
        return {"last_seq": self.last_seq, "count": self.count, "total": self.total,
                "peak": self.peak}

    def __actorium_restore__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.restored = True


def simulate(pumps: int, readings: int, seed: int) -> list[list[float]]:
    """Deterministic pressures: each pump drifts around its own set point."""
    rng = random.Random(seed)
    series = []
    for _ in range(pumps):
        level = rng.uniform(4.0, 8.0)
        values = []
        for _ in range(readings):
            level = min(12.0, max(0.5, level + rng.gauss(0.0, 0.3)))
            values.append(round(level, 3))
        series.append(values)
    return series


def main() -> None:
    parser = argparse.ArgumentParser(description=str(__doc__).splitlines()[0])
    parser.add_argument("--pumps", type=int, default=6)
    parser.add_argument("--readings", type=int, default=300)
    parser.add_argument("--crashes", type=int, default=3)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    series = simulate(args.pumps, args.readings, args.seed)
    rng = random.Random(args.seed + 1)
    crash_at = sorted(rng.sample(range(1, args.readings), args.crashes))
    started = time.perf_counter()

    actorium.init(num_cpus=2)
    with actorium.Supervisor(strategy="one_for_one", max_restarts=args.crashes + 2,
                             within=30.0, name="pump-station") as station:
        hub = station.start(AlertHub)
        names = [f"pump-{i:02d}" for i in range(args.pumps)]
        twins = [station.start(PumpTwin.options(max_task_retries=-1, checkpoint_every=1),
                               name) for name in names]
        rounds: list[list[actorium.ObjectRef[int]]] = []
        for seq in range(args.readings):
            if seq in crash_at:
                victim = crash_at.index(seq) % args.pumps
                actorium.kill(twins[victim], no_restart=False)   # a crash, as the twin sees it
            sent = []
            for index, twin in enumerate(twins):
                bar = series[index][seq]
                sent.append(twin.reading.remote(seq, bar))
                if bar >= ALERT_BAR:
                    hub.report.remote(names[index])
            rounds.append(sent)
            if len(rounds) > 2:   # readings stream in: two rounds in flight at any time
                actorium.get(rounds.pop(0))
        for sent in rounds:
            actorium.get(sent)
        summaries = actorium.get([twin.summary.remote() for twin in twins])
        alerts = actorium.get(hub.counts.remote())
        restarts = station.status().restarts

    consistent = True
    print(f"pumps: {args.pumps}, readings per pump: {args.readings}, crashes injected: "
          f"{args.crashes}")
    print(f"restarts by the supervisor: {restarts}")
    for name, values, summary in zip(names, series, summaries, strict=True):
        expected_mean = sum(values) / len(values)
        ok = (summary["count"] == len(values) and summary["last_seq"] == len(values) - 1
              and abs(summary["mean"] - expected_mean) < 1e-6
              and summary["peak"] == max(values))
        consistent &= ok
        print(f"  {name}  readings {summary['count']:4d}  mean {summary['mean']:6.3f} bar  "
              f"peak {summary['peak']:6.3f}  alerts {alerts.get(name, 0):3d}  "
              f"restored from checkpoint: {'yes' if summary['restored'] else 'no'}")
    print(f"every twin matches its readings: {'yes' if consistent else 'NO'}")
    print(f"supervisor after the with block: {station.status().state}")
    print(f"wall time: {time.perf_counter() - started:.2f} s")
    actorium.shutdown()
    if not consistent:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
