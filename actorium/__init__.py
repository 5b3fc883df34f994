"""actorium: an asyncio-native actor framework with the programming model of Ray Core.

    import actorium as ray
    ray.init()

    @ray.remote
    class Counter:
        def __init__(self): self.n = 0
        def incr(self): self.n += 1; return self.n

    c = Counter.remote()
    print(ray.get(c.incr.remote()))      # or: await c.incr.remote()

Layers (an import may only point downwards):

    actorium/__init__.py, _api.py    the public facade (this file re-exports, nothing else)
    util/, dag/, experimental/       public utilities under Ray's names: util.state, and Ray's
                                     libraries (ActorPool, Queue, metrics, DAGs, tqdm_ray),
                                     built only on the public API (_api, the core's classes).
                                     The core's bind() methods hand off to dag/ (a lazy
                                     import: the one arrow that points up, by design)
    runtime_env/                     Ray's ray.runtime_env (RuntimeEnv, RuntimeEnvConfig)
    actor.py, runtime_context.py,    Ray's module paths ray.actor, ray.runtime_context,
    cloudpickle.py, _raylet.py       ray.cloudpickle, ray._raylet (its ref and generator
                                     types): re-exports of the facade, nothing more
    testing/                         actorium.testing: message faults, killing and pausing
                                     processes, chaos, the simulation; over the public API,
                                     _faults and _sim (imported only by tests, never by this file)
    _sim/                            the simulation (actorium.testing.simulate): the core's
                                     caller side and executor in one process on a virtual clock
    exceptions.py                    the one exception tree (imports nothing of ours)
    _processes.py                    whether a pid is a live process (imports nothing of ours;
                                     used by _jobs, _node and _cluster to watch processes)
    mypy_plugin.py                   loaded by mypy only (plugins = ["actorium.mypy_plugin"]);
                                     imports nothing of ours, names our classes as strings
    job_submission/                  the job SDK (JobSubmissionClient), over the job REST API
    cli.py, _cli/                    the `actorium` command (start, stop, status, list, memory,
                                     job; `edge` is _twins/edge/cli.py)
    _cluster/                        starting node daemons, connecting drivers to a cluster
    _node/                           node daemon, worker processes, launcher, cluster link,
                                     supervisor trees, dashboard
    _jobs/                           jobs: records, supervisor process, manager
    _supervision/                    restart policy (pure logic), the Supervisor handle
    _head/                           head service: node registry, actor directory, names,
                                     the cluster's activation directory of virtual actors
    twins/                           digital twins (the public names of _twins/)
    _twins/                          digital twins: desired/reported documents, fleet index
                                     and history in the state store, queries, watching
    _virtual/                        virtual actors: handles by key, activation directory,
                                     passivation, state stores (sqlite, PostgreSQL), reminders
    _observe/                        logs, metrics, events, object summaries (node-agnostic)
    _core/                           ids, refs, objects, runtime, actors, execution
    _faults/                         the fault plan and the one hook on the send path (off and
                                     free unless a test sets a plan)
    _runtime_env/                    runtime_env: validation, packages, virtualenvs, env cache
    _transport/                      ZeroMQ sockets, message framing, serialization
    _store/                          the shared-memory object store (files, budget, spilling)
"""

# Ray's module paths are attributes after a bare import, as on Ray (``ray.actor.exit_actor()``).
from actorium import (
    actor,
    cloudpickle,
    exceptions,
    experimental,
    runtime_context,
    runtime_env,
    twins,
    util,
)
from actorium._api import (
    RuntimeInfo,
    available_resources,
    cancel,
    checkpoint,
    cluster_resources,
    exit_actor,
    get,
    get_actor,
    get_gpu_ids,
    get_runtime_context,
    init,
    is_initialized,
    kill,
    list_named_actors,
    nodes,
    put,
    remote,
    shutdown,
    timeline,
    wait,
)
from actorium._core.actor import ActorClass, ActorHandle, ActorMethod, method
from actorium._core.context import RuntimeContext
from actorium._core.ref import ObjectRef
from actorium._core.remote_function import RemoteFunction
from actorium._core.streams import DynamicObjectRefGenerator, ObjectRefGenerator
from actorium._supervision.supervisor import Supervisor, SupervisorStatus
from actorium._virtual.actor import VirtualActor
from actorium._virtual.handle import VirtualActorClass, virtual
from actorium._virtual.options import VirtualOptions
from actorium._virtual.stores.base import Reminder

__version__ = "0.1.0"

__all__ = [
    "ActorClass",
    "ActorHandle",
    "ActorMethod",
    "DynamicObjectRefGenerator",
    "ObjectRef",
    "ObjectRefGenerator",
    "Reminder",
    "RemoteFunction",
    "RuntimeContext",
    "RuntimeInfo",
    "Supervisor",
    "SupervisorStatus",
    "VirtualActor",
    "VirtualActorClass",
    "VirtualOptions",
    "__version__",
    "actor",
    "available_resources",
    "cancel",
    "checkpoint",
    "cloudpickle",
    "cluster_resources",
    "exceptions",
    "exit_actor",
    "experimental",
    "get",
    "get_actor",
    "get_gpu_ids",
    "get_runtime_context",
    "init",
    "is_initialized",
    "kill",
    "list_named_actors",
    "method",
    "nodes",
    "put",
    "remote",
    "runtime_context",
    "runtime_env",
    "shutdown",
    "timeline",
    "twins",
    "util",
    "virtual",
    "wait",
]
