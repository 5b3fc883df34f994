"""Ray's ``ray.cloudpickle`` path: the cloudpickle actorium serializes code with.

Ray vendors cloudpickle under its own name; actorium depends on the package itself, so this
module re-exports it (``actorium.cloudpickle.dumps``, ``loads``, ``register_pickle_by_value``).
"""

from cloudpickle import (
    CloudPickler,
    Pickler,
    dump,
    dumps,
    load,
    loads,
    register_pickle_by_value,
    unregister_pickle_by_value,
)

__all__ = ["CloudPickler", "Pickler", "dump", "dumps", "load", "loads",
           "register_pickle_by_value", "unregister_pickle_by_value"]
