"""Separate "hosts" on one machine: Linux network namespaces joined by veth pairs to a bridge.

Each host is a namespace with its own network stack and address (10.<net>.0.<n>/24); a
fifth namespace holds the bridge, so nothing is added to the machine's own network. Needs
root and ``ip`` (iproute2). ``cut_off`` takes a host's link down: its processes keep running
but nobody can reach them, as when a cable is pulled.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field


def why_unavailable() -> str | None:
    """None if namespaces can be made here, else the reason (for pytest.skip)."""
    if os.geteuid() != 0:
        return "network namespace tests need root (ip netns)"
    if shutil.which("ip") is None:
        return "network namespace tests need iproute2's `ip` command"
    probe = f"actorium-probe-{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True,
                          check=False)
    if made.returncode != 0:
        return f"cannot create a network namespace: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True, check=False)
    return None


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)} failed: {done.stderr.strip()}")


@dataclass
class Hosts:
    """Namespaces named ``<prefix>-<host>``, each with an address on one bridge."""

    names: list[str]
    prefix: str = field(default_factory=lambda: f"act{os.getpid() % 100000}")
    net: int = field(default_factory=lambda: random.randint(16, 250))
    created: list[str] = field(default_factory=list)

    def namespace(self, host: str) -> str:
        return f"{self.prefix}-{host}"

    def address(self, host: str) -> str:
        return f"10.{self.net}.0.{self.names.index(host) + 1}"

    def create(self) -> None:
        bridge_ns = self.namespace("br")
        _ip("netns", "add", bridge_ns)
        self.created.append(bridge_ns)
        _ip("-n", bridge_ns, "link", "add", "br0", "type", "bridge")
        _ip("-n", bridge_ns, "link", "set", "br0", "up")
        for index, host in enumerate(self.names):
            ns = self.namespace(host)
            _ip("netns", "add", ns)
            self.created.append(ns)
            outer = f"{self.prefix[:6]}v{index}"
            _ip("link", "add", outer, "type", "veth", "peer", "name", "eth0", "netns", ns)
            _ip("link", "set", outer, "netns", bridge_ns)
            _ip("-n", bridge_ns, "link", "set", outer, "master", "br0")
            _ip("-n", bridge_ns, "link", "set", outer, "up")
            _ip("-n", ns, "addr", "add", f"{self.address(host)}/24", "dev", "eth0")
            _ip("-n", ns, "link", "set", "eth0", "up")
            _ip("-n", ns, "link", "set", "lo", "up")

    def command(self, host: str, argv: list[str]) -> list[str]:
        return ["ip", "netns", "exec", self.namespace(host), *argv]

    def cut_off(self, host: str) -> None:
        _ip("-n", self.namespace(host), "link", "set", "eth0", "down")

    def pids(self) -> list[int]:
        found = []
        for ns in self.created:
            done = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True,
                                  check=False)
            found.extend(int(p) for p in done.stdout.split())
        return found

    def destroy(self) -> None:
        """Kill every process left in the namespaces, then delete them (always safe)."""
        for _ in range(3):
            pids = self.pids()
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + 10
            while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
                time.sleep(0.05)
        for ns in reversed(self.created):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)
        self.created.clear()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False
