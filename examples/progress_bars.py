"""experimental.tqdm_ray: progress bars of tasks and actors, drawn by the driver.

Run it in a terminal: the bars of both tasks and of the actor stay together at the bottom
while the lines they print scroll above. Piped to a file, each bar prints one final line.

    python examples/progress_bars.py [--steps 40]
"""

from __future__ import annotations

import argparse
import time

import actorium
from actorium.experimental.tqdm_ray import tqdm


@actorium.remote
def crunch(name: str, steps: int) -> str:
    for step in tqdm(range(steps), desc=name):
        if step == steps // 2:
            print(f"{name} is half way")
        time.sleep(0.02)
    return name


@actorium.remote
class Downloader:
    def fetch(self, parts: int) -> int:
        with tqdm(total=parts * 1024, desc="download", unit="kB") as bar:
            for _ in range(parts):
                time.sleep(0.03)
                bar.update(1024)
        return parts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=40)
    args = parser.parse_args()
    actorium.init(num_cpus=2)
    downloader = Downloader.remote()
    done = actorium.get([crunch.remote("task 1", args.steps), crunch.remote("task 2", args.steps),
                         downloader.fetch.remote(10)])
    time.sleep(0.3)          # the last bar updates travel with the workers' output
    print("finished:", done)
    actorium.shutdown()


if __name__ == "__main__":
    main()
