"""Request and response: the two halves every process shares.

A REQUEST carries ``request_id, reply_to, verb, args``; the answer is a RESPONSE with
``request_id, ok, result``, where a failed request's result is the pickled exception. The
asking side keeps a future per request id (``settle`` completes it); the answering side runs
the verb and replies at once, or, when the verb returns an awaitable (a question passed on to
the head, a supervisor stopping its children), when that is done (``answer``).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from actorium._transport import serialization
from actorium._transport.protocol import Kind

Send = Callable[[str, list[Any]], None]


def settle(pending: MutableMapping[int, Any], header: list[Any]) -> None:
    """Complete the future (concurrent or asyncio) that waits for this RESPONSE."""
    _, request_id, ok, result = header[:4]
    future = pending.pop(request_id, None)
    if future is None or future.done():
        return   # answered after its asker gave up
    if ok:
        future.set_result(result)
    else:
        future.set_exception(serialization.loads(serialization.PICKLE, result))


def answer(send: Send, reply_to: str, request_id: int, run: Callable[[], Any],
           loop: asyncio.AbstractEventLoop) -> asyncio.Task[None] | None:
    """Run a verb and send its RESPONSE; returns the task when the answer comes later.

    Exceptions of the verb go back to the asker, never up into the caller's message loop.
    """
    try:
        result = run()
    except Exception as exc:  # noqa: BLE001 - sent back to the requester
        _reply_error(send, reply_to, request_id, exc)
        return None
    if inspect.isawaitable(result):
        return loop.create_task(_answer_later(send, reply_to, request_id, result))
    send(reply_to, [Kind.RESPONSE, request_id, True, result])
    return None


async def _answer_later(send: Send, reply_to: str, request_id: int,
                        pending: Awaitable[Any]) -> None:
    try:
        result = await pending
    except Exception as exc:  # noqa: BLE001 - sent back to the requester
        _reply_error(send, reply_to, request_id, exc)
        return
    send(reply_to, [Kind.RESPONSE, request_id, True, result])


def _reply_error(send: Send, reply_to: str, request_id: int, error: BaseException) -> None:
    send(reply_to, [Kind.RESPONSE, request_id, False, serialization.dumps(error)[1]])
