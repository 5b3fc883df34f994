"""``LocalMosquitto``: a private mosquitto broker for development, examples and tests.

It runs Debian's ``/usr/sbin/mosquitto`` (``apt-get install mosquitto``) on a free loopback
port with a config of its own in a temporary directory: a password file (the login is
required, never anonymous), persistence on (a restart keeps queued QoS 1 messages and
retained ones), and queues deep enough for a fleet's burst. ``stop()`` and ``start()`` again
keep the port and the data, which is how the tests restart the broker under a bridge.

    with LocalMosquitto() as broker:           # broker.url: mqtt://user:password@127.0.0.1:port
        ...

Not meant for production: a real deployment runs its own broker, and the bridge gets its URL.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from types import TracebackType

from actorium._twins.broker import MqttBroker

CANDIDATES = ("/usr/sbin/mosquitto", "/usr/bin/mosquitto", "/usr/local/sbin/mosquitto")


def mosquitto_bin() -> str | None:
    """The mosquitto executable of this machine, or None if it is not installed."""
    for path in CANDIDATES:
        if os.access(path, os.X_OK):
            return path
    return shutil.which("mosquitto")


class LocalMosquitto:
    """A mosquitto process of our own (``start``/``stop``, or a ``with`` block).

    ``username``/``password``: the one login (random password by default); ``port``: a
    free loopback port by default; kept across ``stop()``/``start()``. ``max_inflight``:
    unacknowledged QoS 1 messages the broker sends a client at once (mosquitto's default 20
    throttles a bridge that acknowledges only after storing).
    """

    def __init__(self, *, username: str = "actorium", password: str | None = None,
                 port: int | None = None, max_inflight: int = 1000) -> None:
        found = mosquitto_bin()
        if found is None:
            raise FileNotFoundError("mosquitto is not installed (apt-get install mosquitto)")
        self.binary = found
        self.username = username
        self.password = password if password is not None else secrets.token_urlsafe(16)
        self.port = port or _free_port()
        self.max_inflight = max_inflight
        self.directory = tempfile.mkdtemp(prefix="actorium-mosquitto-")
        self._process: subprocess.Popen[bytes] | None = None
        self._write_config()

    @property
    def broker(self) -> MqttBroker:
        return MqttBroker(host="127.0.0.1", port=self.port, username=self.username,
                          password=self.password)

    @property
    def url(self) -> str:
        return f"mqtt://{self.username}:{self.password}@127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def _write_config(self) -> None:
        passwords = os.path.join(self.directory, "passwd")
        with open(passwords, "w"):
            pass
        os.chmod(passwords, 0o600)
        subprocess.run([_passwd_tool(), "-b", passwords, self.username, self.password],
                       check=True, capture_output=True, timeout=30)
        with open(os.path.join(self.directory, "mosquitto.conf"), "w") as conf:
            conf.write(
                # Started as root, mosquitto would switch to the user 'mosquitto', who may
                # not read this private directory: it stays the user who started it.
                f"user {pwd.getpwuid(os.getuid()).pw_name}\n"
                f"listener {self.port} 127.0.0.1\n"
                "allow_anonymous false\n"
                f"password_file {passwords}\n"
                "persistence true\n"
                f"persistence_location {self.directory}/\n"
                "autosave_interval 1\n"
                f"max_inflight_messages {self.max_inflight}\n"
                "max_queued_messages 1000000\n"
                "max_queued_bytes 0\n"
                f"log_dest file {self.directory}/mosquitto.log\n"
                "log_type error\nlog_type warning\nlog_type notice\n")

    def start(self, timeout: float = 15.0) -> None:
        """Start the broker (again) and wait until it accepts connections."""
        if self.running:
            return
        self._process = subprocess.Popen(
            [self.binary, "-c", os.path.join(self.directory, "mosquitto.conf")],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                error = ""
                if self._process.stderr:
                    error = self._process.stderr.read().decode(errors="replace")
                    self._process.stderr.close()
                self._process = None
                raise RuntimeError(f"mosquitto exited at start: {error.strip()} (see "
                                   f"{self.directory}/mosquitto.log)")
            with contextlib.suppress(OSError), socket.create_connection(
                    ("127.0.0.1", self.port), timeout=0.5):
                return
            time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"mosquitto did not listen on 127.0.0.1:{self.port} in {timeout} s")

    def stop(self, *, kill: bool = False) -> None:
        """Stop the broker: SIGTERM (it saves its persistent data first), or SIGKILL."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        if process.stderr:
            process.stderr.close()

    def close(self) -> None:
        """Stop the broker and remove its directory (config, password file, data)."""
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> LocalMosquitto:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()


def _passwd_tool() -> str:
    found = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
    if not os.access(found, os.X_OK):
        raise FileNotFoundError("mosquitto_passwd is not installed (it comes with Debian's "
                                "mosquitto package)")
    return found


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
