"""Where an MQTT broker is and how to log in to it: ``MqttBroker``, parsed from a URL.

``MqttBroker.from_url("mqtt://bridge:secret@10.0.0.5:1883")``, ``mqtts://`` for TLS (the
system's CA store, or ``ca_file=``; a client certificate with ``certfile``/``keyfile``). The
default is the loopback broker of this machine, ``mqtt://127.0.0.1:1883``, with no login: a
bridge never reaches out to another machine unless it is told to. The password never
appears in ``repr()`` or in an error message.
"""

from __future__ import annotations

import dataclasses
import os
import ssl
import urllib.parse
from typing import Any

_SCHEMES = {"mqtt": False, "tcp": False, "mqtts": True, "ssl": True}


@dataclasses.dataclass(frozen=True)
class MqttBroker:
    """Connection settings of one MQTT broker (frozen; validated when made).

    * ``host``, ``port``: where it listens (``port`` 1883 plain, 8883 with ``tls``).
    * ``username``, ``password``: the broker login (``password`` needs ``username``).
    * ``tls``: connect with TLS, checking the broker's certificate against ``ca_file`` (or
      the system's CAs); ``certfile``/``keyfile``: a client certificate for brokers that ask.
    """

    host: str = "127.0.0.1"
    port: int | None = None
    username: str | None = None
    password: str | None = dataclasses.field(default=None, repr=False)
    tls: bool = False
    ca_file: str | None = None
    certfile: str | None = None
    keyfile: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.host, str) or not self.host:
            raise ValueError(f"MqttBroker: host is a host name or address, got {self.host!r}")
        if self.port is not None and (isinstance(self.port, bool) or not isinstance(
                self.port, int) or not 0 < self.port < 65536):
            raise ValueError(f"MqttBroker: port is 1..65535, got {self.port!r}")
        if self.password is not None and not self.username:
            raise ValueError("MqttBroker: a password needs a username")
        for name in ("ca_file", "certfile", "keyfile"):
            path = getattr(self, name)
            if path is not None and not os.path.isfile(path):
                raise ValueError(f"MqttBroker: {name} {path!r} is not a file")
        if (self.ca_file or self.certfile) and not self.tls:
            raise ValueError("MqttBroker: ca_file/certfile are TLS settings: pass tls=True "
                             "(or an mqtts:// URL)")
        if self.keyfile and not self.certfile:
            raise ValueError("MqttBroker: keyfile needs certfile")

    @property
    def effective_port(self) -> int:
        return self.port if self.port is not None else (8883 if self.tls else 1883)

    @classmethod
    def from_url(cls, url: str, **tls_files: Any) -> MqttBroker:
        """``mqtt://[user[:password]@]host[:port]`` or ``mqtts://...`` (TLS); keyword
        arguments ``ca_file``, ``certfile``, ``keyfile`` go with ``mqtts``."""
        if isinstance(url, MqttBroker):
            return url
        if not isinstance(url, str):
            raise TypeError(f"an MQTT broker is an mqtt:// URL or an MqttBroker, got {url!r}")
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in _SCHEMES:
            raise ValueError(f"MQTT broker URL {_safe(url)!r}: the scheme is mqtt:// or "
                             f"mqtts://, not {parts.scheme!r}")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError(f"MQTT broker URL {_safe(url)!r} has a path or query: it names a "
                             f"broker only (topics are set on the bridge)")
        unknown = set(tls_files) - {"ca_file", "certfile", "keyfile"}
        if unknown:
            raise TypeError(f"MqttBroker.from_url(): unknown option(s) {sorted(unknown)}")
        try:
            port = parts.port
        except ValueError as exc:
            raise ValueError(f"MQTT broker URL {_safe(url)!r}: {exc}") from None
        return cls(host=parts.hostname or "127.0.0.1", port=port,
                   username=urllib.parse.unquote(parts.username) if parts.username else None,
                   password=urllib.parse.unquote(parts.password) if parts.password else None,
                   tls=_SCHEMES[parts.scheme], **tls_files)

    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context to connect with (None without TLS): certificates are checked."""
        if not self.tls:
            return None
        context = ssl.create_default_context(cafile=self.ca_file)
        if self.certfile:
            context.load_cert_chain(self.certfile, self.keyfile)
        return context

    def describe(self) -> str:
        """``mqtt://user@host:port`` — for logs and errors (never the password)."""
        user = f"{self.username}@" if self.username else ""
        return f"{'mqtts' if self.tls else 'mqtt'}://{user}{self.host}:{self.effective_port}"


def broker_of(value: MqttBroker | str | None) -> MqttBroker:
    """An ``MqttBroker`` from a URL, a broker or None (the loopback default)."""
    if value is None:
        return MqttBroker()
    return MqttBroker.from_url(value) if isinstance(value, str) else _checked(value)


def _checked(value: Any) -> MqttBroker:
    if not isinstance(value, MqttBroker):
        raise TypeError(f"an MQTT broker is an mqtt:// URL or an MqttBroker, got {value!r}")
    return value


def _safe(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)
