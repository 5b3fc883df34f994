"""The edge agent (``actorium edge``): a small process next to the devices.

    outbox.py   the durable local queue (sqlite): reports waiting, desired states, totals
    agent.py    EdgeAgent: queue reports, send them in order when the broker answers,
                drop those past their ttl, keep the latest desired state of each device
    http.py     the local HTTP API devices use (token required)
    cli.py      ``actorium edge``: the agent and its API in the foreground
"""
