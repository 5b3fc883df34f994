"""Digital twins: virtual actors with desired and reported state, fleet queries, watching.

Modules, one concept each:

    document.py    JSON documents: validation, merge patches, the delta
    change.py      TwinChange (one history entry, what watchers get) and Part
    twin.py        Twin (the base class, a VirtualActor), TwinOptions and the @twin decorator
    query.py       Field/related conditions, compiled to sqlite JSON or PostgreSQL JSONB SQL
    watch.py       watch(): async iteration over the journal of one twin or a fleet query
    fleet.py       query()/count() from a driver, an actor or an asyncio app (no twin called)
    stores/        the twin tables (index and history) beside the virtual actors' state;
                   stores/bells.py wakes watchers when a change is committed
    broker.py      MqttBroker: where a broker is and how to log in (URL, TLS, password)
    topics.py      Topics: MQTT topic templates <-> twin keys
    mqtt_session.py  an MQTT session acknowledging a message only once it is stored
    bridge.py      MqttBridge: reports over MQTT into twins, desired changes back out
    mosquitto.py   LocalMosquitto: a private mosquitto for development, examples, tests

Layering: this package sits on ``_virtual`` (a twin is a virtual actor; its tables live in
the same state store) and ``_core``; nothing below imports it.
"""
