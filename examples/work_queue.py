"""util.queue.Queue: producers and consumers in different processes share one bounded queue.

Producer tasks put jobs (blocking when the queue is full: back-pressure), consumer tasks take
them until they see a stop marker. Every job is handed out exactly once; the driver counts.

    python examples/work_queue.py [--producers 2] [--consumers 2] [--jobs 200]
"""

from __future__ import annotations

import argparse
import collections
import os

import actorium
from actorium.util.queue import Empty, Queue

STOP = None


@actorium.remote
def produce(queue: Queue, name: str, jobs: int) -> int:
    for n in range(jobs):
        queue.put((name, n), timeout=60)      # waits while the queue is full
    return jobs


@actorium.remote
def consume(queue: Queue) -> tuple[int, list[tuple[str, int]]]:
    taken = []
    while True:
        try:
            job = queue.get(timeout=1)
        except Empty:
            continue                          # nothing yet: a timed-out get takes nothing
        if job is STOP:
            return os.getpid(), taken
        taken.append(job)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--producers", type=int, default=2)
    parser.add_argument("--consumers", type=int, default=2)
    parser.add_argument("--jobs", type=int, default=200)
    args = parser.parse_args()
    actorium.init(num_cpus=args.producers + args.consumers)
    queue = Queue(maxsize=20)
    consumers = [consume.remote(queue) for _ in range(args.consumers)]
    producers = [produce.remote(queue, f"p{i}", args.jobs) for i in range(args.producers)]
    sent = sum(actorium.get(producers))
    queue.put_nowait_batch([STOP] * args.consumers)
    results = actorium.get(consumers)
    counts = collections.Counter(job for _, taken in results for job in taken)
    print(f"sent {sent} jobs; consumers took {[len(t) for _, t in results]}")
    print("every job exactly once:", len(counts) == sent and set(counts.values()) == {1})
    queue.shutdown()
    actorium.shutdown()


if __name__ == "__main__":
    main()
