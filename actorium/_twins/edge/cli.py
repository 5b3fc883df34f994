"""``actorium edge``: run an edge agent in the foreground (until SIGTERM or Ctrl-C).

    actorium edge --broker mqtt://edge-7@cluster.example:1883 --queue /var/lib/edge/q.db \\
                  --ttl 86400 --listen 127.0.0.1:8765

The broker password comes from ``$ACTORIUM_MQTT_PASSWORD`` when the URL names a user without
one (so that it does not show in ``ps``). The local API's token is read from
``--token-file`` (default: the queue file's path + ``.token``), made with a random token,
readable by its owner only, if it does not exist. The first line printed says where the
agent listens, so a supervisor (or a test) can read the port of ``--listen 127.0.0.1:0``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import os
import secrets
import signal
import sys

NAME = "edge"


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        NAME, help="run an edge agent: buffer device reports while the cluster is away")
    parser.add_argument("--broker", default="mqtt://127.0.0.1:1883",
                        help="the cluster's MQTT broker, mqtt://[user@]host:port or mqtts://")
    parser.add_argument("--queue", required=True, help="the durable queue file (sqlite)")
    parser.add_argument("--ttl", type=float, default=None,
                        help="drop reports older than this many seconds (default: never)")
    parser.add_argument("--listen", default="127.0.0.1:8765",
                        help="host:port of the local HTTP API (port 0: any free port)")
    parser.add_argument("--token-file", default=None,
                        help="the local API's token (default: <queue>.token, made if missing)")
    parser.add_argument("--device", action="append", default=None,
                        help="follow the desired state of this key (repeat; default: all)")
    parser.add_argument("--client-id", default=None, help="the agent's MQTT session id")
    parser.add_argument("--reported-topic", default="devices/{key}/reported")
    parser.add_argument("--desired-topic", default="devices/{key}/desired")
    parser.add_argument("--window", type=int, default=100,
                        help="reports in flight to the broker at once")
    parser.add_argument("--max-queued", type=int, default=1_000_000,
                        help="reports the queue may hold before refusing new ones")


def run(options: argparse.Namespace) -> int:
    from actorium._twins.broker import MqttBroker
    from actorium._twins.topics import Topics
    try:
        broker = MqttBroker.from_url(options.broker)
        if broker.username and broker.password is None and \
                os.environ.get("ACTORIUM_MQTT_PASSWORD"):
            broker = dataclasses.replace(broker, password=os.environ["ACTORIUM_MQTT_PASSWORD"])
        topics = Topics(reported=options.reported_topic, desired=options.desired_topic)
        host, port = _listen(options.listen)
    except ValueError as exc:
        print(f"actorium edge: {exc}", file=sys.stderr)
        return 2
    token = _token(options.token_file or options.queue + ".token")
    try:
        asyncio.run(_serve(options, broker, topics, host, port, token))
    except ValueError as exc:
        print(f"actorium edge: {exc}", file=sys.stderr)
        return 2
    return 0


async def _serve(options: argparse.Namespace, broker: object, topics: object, host: str,
                 port: int, token: str) -> None:
    from aiohttp import web

    from actorium._twins.edge.agent import EdgeAgent
    from actorium._twins.edge.http import make_app
    agent = EdgeAgent(broker, queue=options.queue, ttl=options.ttl,  # type: ignore[arg-type]
                      topics=topics, devices=options.device,  # type: ignore[arg-type]
                      client_id=options.client_id, window=options.window,
                      max_queued=options.max_queued)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    runner = web.AppRunner(make_app(agent, token), access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound = runner.addresses[0]
        async with agent:
            status = await agent.status()
            print(f"actorium edge: listening on http://{bound[0]}:{bound[1]}, queue "
                  f"{agent.outbox.path} ({status['queued']} queued), upstream "
                  f"{agent.broker.describe()}", flush=True)
            await stop.wait()
    finally:
        with contextlib.suppress(Exception):
            await runner.cleanup()


def _listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise ValueError(f"--listen is host:port, got {value!r}")
    return host.strip("[]"), int(port)


def _token(path: str) -> str:
    """The token in ``path``, made (0600) with a random one if the file does not exist."""
    try:
        with open(path) as file:
            token = file.read().strip()
        if token:
            return token
    except FileNotFoundError:
        pass
    token = secrets.token_urlsafe(24)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(token + "\n")
    return token
