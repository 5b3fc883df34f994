"""Run one row in a fresh subprocess with a timeout; never let a row crash the suite.

Each row gets its own interpreter (``python -m benchmarks.worker``) in its own process
group. A row that fails, crashes or times out comes back as a result with ``ok=False`` and
an ``error`` string. When the worker exits, anything it left running in its process group
(runtime processes that outlived it) is terminated, so the next row starts clean.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import backends

REPO_ROOT = Path(__file__).resolve().parent.parent


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _end_group(proc: subprocess.Popen[bytes], grace: float = 3.0) -> None:
    """SIGTERM then SIGKILL whatever is left of the worker's own process group
    (the worker is its leader: its pid is the group id)."""
    pgid = proc.pid
    for sig in (signal.SIGTERM, signal.SIGKILL):
        proc.poll()  # reap the worker if it has exited, so it no longer counts
        if not _group_alive(pgid):
            return
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            proc.poll()
            if not _group_alive(pgid):
                return
            time.sleep(0.05)


def _tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])


def worker_env(backend: str) -> dict[str, str]:
    """The worker's environment: ours, the backend's quieting variables, and the repo on
    PYTHONPATH so runtime worker processes can import the rows' actor classes."""
    env = dict(os.environ)
    env.update(backends.env(backend))
    paths = [str(REPO_ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


def run_row(
    row: str,
    backend: str,
    scale: str,
    *,
    python: str | None = None,
    timeout: float = 300.0,
) -> dict[str, Any]:
    """Run ``row`` on ``backend`` in a fresh ``python`` process; return the worker's result."""
    python = python or sys.executable
    base: dict[str, Any] = {"row": row, "backend": backend, "scale": scale, "ok": False}
    with tempfile.TemporaryDirectory(prefix="actorium-bench-") as tmp:
        out, log = Path(tmp) / "result.json", Path(tmp) / "worker.log"
        cmd = [python, "-m", "benchmarks.worker", "--backend", backend, "--row", row,
               "--scale", scale, "--out", str(out)]
        start = time.perf_counter()
        with open(log, "wb") as log_fh:
            proc = subprocess.Popen(
                cmd, cwd=REPO_ROOT, env=worker_env(backend), stdin=subprocess.DEVNULL,
                stdout=log_fh, stderr=subprocess.STDOUT, start_new_session=True,
            )
            try:
                returncode = proc.wait(timeout=timeout)
                timed_out = False
            except subprocess.TimeoutExpired:
                timed_out = True
                returncode = None
            _end_group(proc)
            proc.wait()
        elapsed = time.perf_counter() - start

        if timed_out:
            return base | {"error": f"timeout after {timeout:.0f} s", "log_tail": _tail(log),
                           "wall_s": elapsed}
        try:
            result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return base | {"error": f"worker exited with code {returncode} and no result",
                           "log_tail": _tail(log), "wall_s": elapsed}
        if not result.get("ok"):
            result["log_tail"] = _tail(log)
        return result
