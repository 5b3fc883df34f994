"""Authenticating every message with the cluster token, before anything is decoded.

Every process of a cluster (and of an embedded runtime) knows one secret *token*. A sender
prefixes the first frame of each message with a 16-byte tag: keyed BLAKE2b over every frame of
the message (and, for multipart messages, the frame count and each frame's length, so frames
cannot be re-cut). A receiver recomputes the tag before it looks at the bytes; a message whose
tag does not match is dropped, counted and logged (without its payload). Nothing reaches msgpack
or pickle without a valid tag, so a peer without the token cannot run code in the cluster.

What this does not give: confidentiality (frames travel in clear) and protection against
replaying a captured message. Run clusters on a network you trust, or under a VPN / TLS tunnel,
when either matters (see ``docs/cluster.md``).

The token is handed to child processes through the ``ACTORIUM_CLUSTER_TOKEN`` environment
variable, which only the owner of the process (and root) can read.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import os
import secrets
from collections.abc import Sequence
from typing import Any

TOKEN_ENV = "ACTORIUM_CLUSTER_TOKEN"
# The address a cluster node and its workers listen on (set by the node for its workers).
BIND_HOST_ENV = "ACTORIUM_BIND_HOST"
TAG_BYTES = 16
# A rejected message is logged the first time and then once per this many rejections.
_LOG_EVERY = 1000

_log = logging.getLogger("actorium.transport")


def new_token() -> str:
    """A fresh random cluster token (256 bits, hex, safe to paste in a shell command)."""
    return secrets.token_hex(32)


def token_from_environment() -> str | None:
    """The token this process was started with, if any."""
    token = os.environ.get(TOKEN_ENV, "").strip()
    return token or None


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


# The value the example Secret in deploy/kubernetes/ ships with: never a usable token.
PLACEHOLDER_TOKEN = "REPLACE-WITH-A-RANDOM-TOKEN"


def check_bind_host(host: str, token: str | None) -> None:
    """Refuse to listen beyond this machine without a token (ValueError naming the host)."""
    if not is_loopback(host) and not token:
        raise ValueError(f"refusing to listen on {host}: binding to a non-loopback address "
                         f"needs a cluster token (set {TOKEN_ENV} or use actorium start)")
    if token == PLACEHOLDER_TOKEN:
        raise ValueError("refusing the placeholder token of the example Secret: create the "
                         "Secret with a random token (see deploy/kubernetes/token-secret.yaml)")


class FrameAuth:
    """Signs outgoing messages and checks incoming ones with one cluster token."""

    __slots__ = ("_key", "rejected", "_blake2b")

    def __init__(self, token: str) -> None:
        if not token:
            raise ValueError("the cluster token must not be empty")
        # Derive the MAC key rather than using the token as is, so that the key is always
        # 32 bytes (BLAKE2b's key limit is 64) whatever the token's length.
        self._key = hashlib.blake2b(token.encode(), digest_size=32,
                                    person=b"actorium-frames").digest()
        self._blake2b = hashlib.blake2b
        self.rejected = 0

    def tag(self, frames: Sequence[Any]) -> bytes:
        """The tag of a message's frames (the first frame as it is before tagging)."""
        if len(frames) == 1:
            return self._blake2b(frames[0], key=self._key, digest_size=TAG_BYTES).digest()
        mac = self._blake2b(len(frames).to_bytes(4, "little"), key=self._key,
                            digest_size=TAG_BYTES)
        for frame in frames:
            view = memoryview(frame)
            mac.update(view.nbytes.to_bytes(8, "little"))
            mac.update(view)
        return mac.digest()

    def sign(self, frames: Sequence[Any]) -> list[Any]:
        """``frames`` with the tag prepended to the first one, ready to send."""
        first = frames[0]
        if not isinstance(first, bytes):
            first = bytes(first)
            frames = [first, *frames[1:]]
        tagged = self.tag(frames) + first
        if len(frames) == 1:
            return [tagged]
        return [tagged, *frames[1:]]

    def open(self, frames: list[Any]) -> list[Any] | None:
        """The message without its tag if the tag is valid, else None (counted and logged).

        ``frames[0]`` must be ``bytes`` (as received); the rest may be ZeroMQ frames.
        """
        first = frames[0]
        if len(first) > TAG_BYTES:
            body = memoryview(first)[TAG_BYTES:]
            if len(frames) == 1:
                expected = self._blake2b(body, key=self._key, digest_size=TAG_BYTES).digest()
                if hmac.compare_digest(expected, first[:TAG_BYTES]):
                    return [body]
            else:
                message = [body, *frames[1:]]
                if hmac.compare_digest(self.tag(message), first[:TAG_BYTES]):
                    return message
        self.reject(sum(memoryview(f).nbytes for f in frames), len(frames))
        return None

    def reject(self, size: int, count: int) -> None:
        """Count a message that failed authentication; log it without its content."""
        self.rejected += 1
        if self.rejected == 1 or self.rejected % _LOG_EVERY == 0:
            _log.warning("dropped a message that failed authentication (%d frame(s), %d bytes); "
                         "%d dropped so far", count, size, self.rejected)
