"""The secret that state-changing dashboard requests must carry.

Created once per session (32 random bytes, hex) in ``<session>/token``, readable only by its
owner; the driver reads it from there to give it to the user (``init()``'s result).
"""

from __future__ import annotations

import os
import secrets

TOKEN_FILE = "token"


def token_path(session_dir: str) -> str:
    return os.path.join(session_dir, TOKEN_FILE)


def load_or_create_token(session_dir: str) -> str:
    path = token_path(session_dir)
    try:
        with open(path, encoding="ascii") as existing:
            return existing.read().strip()
    except FileNotFoundError:
        pass
    token = secrets.token_hex(32)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as new:
        new.write(token)
    return token


def read_token(session_dir: str) -> str:
    """The session's token, or "" if the node has not written one."""
    try:
        with open(token_path(session_dir), encoding="ascii") as existing:
            return existing.read().strip()
    except OSError:
        return ""
