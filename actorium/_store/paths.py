"""Where a session keeps its object store and its spilled objects.

The store is a directory of files on tmpfs (``/dev/shm``): a file there *is* shared memory,
and mapping it costs no copy. It is named after the session directory, so that every process
of a session (which all know the session directory) finds the same store without being told.
Spilled objects go to ``<session dir>/spill``, which is on disk.
"""

from __future__ import annotations

import os
import shutil

SHM_ROOT = "/dev/shm"
USAGE_FILE = ".usage"


def store_dir(session_dir: str) -> str:
    """The shared-memory directory of the session whose sockets live in ``session_dir``."""
    name = f"actorium-{os.getuid()}-{os.path.basename(session_dir.rstrip('/'))}"
    if os.path.isdir(SHM_ROOT) and os.access(SHM_ROOT, os.W_OK):
        return os.path.join(SHM_ROOT, name)
    return os.path.join(session_dir, "store")  # no /dev/shm: still shared, as page cache


def spill_dir(session_dir: str) -> str:
    return os.path.join(session_dir, "spill")


def remove_store(session_dir: str) -> None:
    """Delete the session's store and spill files (the session is over)."""
    shutil.rmtree(store_dir(session_dir), ignore_errors=True)
    shutil.rmtree(spill_dir(session_dir), ignore_errors=True)


def object_file_name(owner_tag: str, object_id: bytes) -> str:
    """``<owner tag>.<object id>``: the owner's tag lets the node sweep a dead owner's files."""
    return f"{owner_tag}.{object_id.hex()}"


def parse_file_name(name: str) -> tuple[str, str] | None:
    """(owner tag, object id hex) of an object file; None for other files (temporaries)."""
    owner, _, object_hex = name.partition(".")
    if not object_hex or name.startswith(".") or "." in object_hex:
        return None
    return owner, object_hex


def owner_tag(address: str) -> str:
    """A process's tag from its inbox address (``ipc://.../<worker id hex>.sock``)."""
    base = address.rsplit("/", 1)[-1]
    return base.removesuffix(".sock")
