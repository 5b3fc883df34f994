"""Helpers for runtime environment tests: wheels built on the spot, a server that never answers."""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager


def build_wheel(directory: str, name: str, version: str, source: str) -> str:
    """Write ``<name>-<version>-py3-none-any.whl`` into ``directory``: one module ``name``
    whose code is ``source``. Returns its path (installable with pip, no index needed)."""
    os.makedirs(directory, exist_ok=True)
    dist_info = f"{name}-{version}.dist-info"
    files = {
        f"{name}.py": source.encode(),
        f"{dist_info}/METADATA": (f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
                                  ).encode(),
        f"{dist_info}/WHEEL": (b"Wheel-Version: 1.0\nGenerator: actorium-tests\n"
                               b"Root-Is-Purelib: true\nTag: py3-none-any\n"),
    }
    record_lines = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record_lines.append(f"{path},sha256={digest},{len(data)}")
    record_lines.append(f"{dist_info}/RECORD,,")
    files[f"{dist_info}/RECORD"] = ("\n".join(record_lines) + "\n").encode()
    path = os.path.join(directory, f"{name}-{version}-py3-none-any.whl")
    with zipfile.ZipFile(path, "w") as wheel:
        for member, data in files.items():
            wheel.writestr(member, data)
    return path


@contextmanager
def silent_index() -> Iterator[str]:
    """An HTTP address on loopback that accepts connections and never answers: a package
    index that makes pip wait. Yields ``http://127.0.0.1:PORT/simple``."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except OSError:
                continue
            held.append(connection)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}/simple"
    finally:
        stop.set()
        thread.join(timeout=2)
        for connection in held:
            connection.close()
        server.close()
