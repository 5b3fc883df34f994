"""Exit when the parent process goes away: its pipe on our stdin reads EOF."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable


def watch_parent_pipe(loop: asyncio.AbstractEventLoop, on_gone: Callable[[], None]) -> None:
    """Call ``on_gone`` once stdin (a pipe held open by the parent) reaches EOF."""
    fd = 0

    def readable() -> None:
        try:
            data = os.read(fd, 4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            loop.remove_reader(fd)
            on_gone()

    os.set_blocking(fd, False)
    loop.add_reader(fd, readable)
