"""Virtual actors: actors named by a key, activated on first call, passivated when idle.

Modules, one concept each:

    actor.py       VirtualActor, the base class users subclass (state, reminders, timers)
    options.py     VirtualOptions and the @virtual decorator's validation
    handle.py      VirtualActorClass: .get(key) -> ActorHandle, ids from (type, key)
    caller.py      the caller side: asking for an activation, resending refused calls
    directory.py   the activation directory: one activation per key, placement by load
    hosting.py     the node side: placing activations in host workers, node and worker loss
    host.py        the worker side: activating, idle passivation, timers, reminder delivery
    reminders.py   the reminder service: fires due reminders from the store
    stores/        the state store interface, sqlite and PostgreSQL

Layering: this package sits on ``_core`` (actors, mailboxes, the caller runtime) and
``_transport``; ``_node`` and ``_head`` use it. It adds no second kernel: an activation is an
ordinary hosted actor whose incarnation is its epoch in the state store.
"""
