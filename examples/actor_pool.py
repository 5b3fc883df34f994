"""ActorPool: a few actors that each load something expensive once, then share the work.

Each ``Resizer`` pretends to load a model in its constructor; the pool hands every image to
whichever actor is free. ``map`` gives results in input order, ``map_unordered`` as they
finish, and ``map_async`` does the same from asyncio code without blocking the loop.

    python examples/actor_pool.py [--images 12] [--actors 3]
"""

from __future__ import annotations

import argparse
import asyncio
import time

import actorium
from actorium.util import ActorPool


@actorium.remote
class Resizer:
    def __init__(self) -> None:
        time.sleep(0.2)              # load the model once per actor, not once per image
        self.done = 0

    def resize(self, image: int) -> str:
        time.sleep(0.01 * (image % 4))   # some images take longer
        self.done += 1
        return f"thumb-{image}"


async def resize_from_asyncio(pool: ActorPool, images: list[int]) -> list[str]:
    return [thumb async for thumb in pool.map_async(lambda a, i: a.resize.remote(i), images)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=12)
    parser.add_argument("--actors", type=int, default=3)
    args = parser.parse_args()
    actorium.init(num_cpus=2)
    images = list(range(args.images))
    pool = ActorPool([Resizer.remote() for _ in range(args.actors)])

    in_order = list(pool.map(lambda actor, image: actor.resize.remote(image), images))
    print("in order:", in_order[:4], "...")
    finished = list(pool.map_unordered(lambda actor, image: actor.resize.remote(image), images))
    print("as they finished: same thumbnails:", sorted(finished) == sorted(in_order))
    from_async = asyncio.run(resize_from_asyncio(pool, images))
    print("from asyncio, in order:", from_async == in_order)
    actorium.shutdown()


if __name__ == "__main__":
    main()
