"""A real PostgreSQL server of the test suite's own: temp data dir, free port, loopback only.

Debian's PostgreSQL (``/usr/lib/postgresql/<version>/bin``) is started with ``pg_ctl`` (which
detaches the server, so the leak guard's process checks never see it) as an unprivileged user
when the suite runs as root (``initdb`` refuses root): ``nobody``. It is stopped and its
directory removed when the test session ends. Outside CI a missing PostgreSQL skips the tests
that need it; in CI (``CI`` set) it fails them, since ``.ci/run`` installs it.
"""

from __future__ import annotations

import asyncio
import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

LEAK_MARKER = "ACTORIUM_TEST_SUITE_RUN"
_databases = itertools.count(1)


def postgres_bin() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return os.path.dirname(found[-1]) if found else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def postgres_server() -> Iterator[str]:
    """Start a server; yields its asyncpg URL (database ``postgres``, user ``actorium``)."""
    bindir = postgres_bin()
    if bindir is None:
        raise FileNotFoundError("PostgreSQL is not installed (apt-get install postgresql)")
    root = tempfile.mkdtemp(prefix="actorium-pg-")
    as_user: list[str] = []
    if os.geteuid() == 0:
        import pwd
        nobody = pwd.getpwnam("nobody")
        os.chown(root, nobody.pw_uid, nobody.pw_gid)
        as_user = ["runuser", "-u", "nobody", "--"]
    env = {k: v for k, v in os.environ.items() if k != LEAK_MARKER}
    env["LC_ALL"] = "C"
    data, sockets, log = (os.path.join(root, name) for name in ("data", "sock", "server.log"))
    port = _free_port()

    def run(*command: str) -> None:
        done = subprocess.run([*as_user, *command], env=env, capture_output=True, text=True,
                              timeout=120, cwd=root, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed: {done.stdout}{done.stderr}")

    try:
        run("mkdir", "-p", sockets)
        run(f"{bindir}/initdb", "-D", data, "-A", "trust", "-U", "actorium", "--no-sync",
            "-E", "UTF8")
        options = (f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off "
                   f"-c synchronous_commit=off -c full_page_writes=off")
        run(f"{bindir}/pg_ctl", "-D", data, "-o", options, "-l", log, "-w", "-t", "60", "start")
        try:
            yield f"postgresql://actorium@127.0.0.1:{port}/postgres"
        finally:
            run(f"{bindir}/pg_ctl", "-D", data, "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def fresh_database(server_url: str) -> str:
    """A new, empty database on the server; its URL."""
    import asyncpg

    name = f"virtual_{os.getpid()}_{next(_databases)}"

    async def create() -> None:
        connection = await asyncpg.connect(server_url)
        try:
            await connection.execute(f"CREATE DATABASE {name}")
        finally:
            await connection.close()

    asyncio.run(create())
    return server_url.rsplit("/", 1)[0] + "/" + name
