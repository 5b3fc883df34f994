"""The head's package store: ``working_dir`` / ``py_modules`` packages every node can fetch.

A driver uploads a package to its node, which keeps it and passes it here; another node that
must run a task in that environment fetches it from here once (``get_package``) and caches
it. Packages are content-addressed (``pkg://<hash>.zip``) and verified on the way in. They
live in the head's session directory, so a restarted head still has them.
"""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING

from actorium._runtime_env.packaging import PackageStore

if TYPE_CHECKING:
    from actorium._head.service import HeadService


class HeadPackages:
    """Verbs ``has_package``, ``put_package`` and ``get_package`` of the head."""

    def __init__(self, head: HeadService, session_dir: str) -> None:
        self.store = PackageStore(os.path.join(session_dir, "packages"))
        head.verbs["has_package"] = self.store.has
        head.verbs["get_package"] = self._get
        head.verbs["put_package"] = self._put

    # Files are read and written on threads: a large package must not hold up the head.
    async def _get(self, uri: str) -> bytes | None:
        return await asyncio.to_thread(self.store.read, uri)

    async def _put(self, uri: str, data: bytes) -> bool:
        await asyncio.to_thread(self.store.write, uri, data)
        return True
