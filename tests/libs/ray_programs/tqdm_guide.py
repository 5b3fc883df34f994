# Ray's tqdm_ray program ("Using Ray's distributed tqdm"), with the import lines of actorium.
# The body is Ray's, unchanged (Ray's version has no init: Ray starts on first use).
import time

import actorium as ray

# Instead of "from tqdm import tqdm", use:
from actorium.experimental.tqdm_ray import tqdm


@ray.remote
def f(name):
    for x in tqdm(range(100), desc=name):  # noqa: B007 - Ray's program, unchanged
        time.sleep(.1)


ray.get([f.remote("task 1"), f.remote("task 2")])
