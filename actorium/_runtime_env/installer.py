"""Building a virtualenv for a requirement list with pip or uv, without blocking the loop.

The virtualenv sees the packages of the environment actorium runs in (a ``.pth`` file adds
its site directories *after* the virtualenv's own), so actorium and its dependencies are
there, and what the requirement list installs comes first. Every command's output is kept;
a failing command, or a setup that takes longer than its timeout, raises
``RuntimeEnvSetupError`` carrying that output.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import shutil
import signal
import site
import sys
from typing import Any

from actorium.exceptions import RuntimeEnvSetupError

_OUTPUT_TAIL = 20_000
# What a worker of the environment must still import once the requirements are installed.
_WORKER_IMPORT_CHECK = "import actorium._node.worker_main"


def venv_python(directory: str) -> str:
    return os.path.join(directory, "bin", "python")


def site_packages(directory: str) -> str:
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    return os.path.join(directory, "lib", version, "site-packages")


class Transcript:
    """The output of every command of one setup, for the log file and the error."""

    def __init__(self, log_path: str) -> None:
        self.log_path = log_path
        self.text = ""

    def add(self, text: str) -> None:
        self.text += text
        with open(self.log_path, "a") as log:
            log.write(text)

    def tail(self) -> str:
        return self.text[-_OUTPUT_TAIL:]


async def run(command: list[str], transcript: Transcript, *, env: dict[str, str] | None = None,
              cwd: str | None = None) -> None:
    """Run one command to its end, its output into the transcript; raise if it fails.

    If the awaiting task is cancelled (a timeout), the command's whole process group is
    killed, so no installer outlives its setup.
    """
    await asyncio.to_thread(transcript.add, f"$ {' '.join(command)}\n")
    process = await asyncio.create_subprocess_exec(
        *command, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT, env=env, cwd=cwd, start_new_session=True)
    try:
        output, _ = await process.communicate()
    except BaseException:
        _kill_group(process)
        await process.wait()
        raise
    await asyncio.to_thread(transcript.add, output.decode(errors="replace"))
    if process.returncode != 0:
        raise RuntimeEnvSetupError(f"{os.path.basename(command[0])} {' '.join(command[1:3])} "
                                   f"exited with code {process.returncode}")


def _kill_group(process: asyncio.subprocess.Process) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _parent_site_dirs() -> list[str]:
    dirs = [d for d in site.getsitepackages() if os.path.isdir(d)]
    user = site.getusersitepackages() if site.ENABLE_USER_SITE else None
    if user and os.path.isdir(user):
        dirs.append(user)
    return dirs


async def build(target: str, tool: str, spec: dict[str, Any], transcript: Transcript) -> None:
    """Create the virtualenv ``target`` (absent) and install ``spec`` into it with ``tool``.

    Builds in ``target.partial`` and renames it when everything succeeded, so a half-built
    environment is never used; a failure removes it and raises ``RuntimeEnvSetupError``.
    """
    partial = f"{target}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    try:
        # pip comes from the environment actorium runs in (seen through the .pth file); if
        # that one has none, the virtualenv gets its own from ensurepip (bundled, offline).
        venv_options = [] if importlib.util.find_spec("pip") is None else ["--without-pip"]
        await run([sys.executable, "-m", "venv", *venv_options, partial], transcript, env=env)
        requirements = await asyncio.to_thread(_write_venv_files, partial, spec["packages"])
        python = venv_python(partial)
        if tool == "pip":
            await _pip_install(python, spec, requirements, transcript, env)
        else:
            await _uv_install(python, spec, requirements, transcript, env)
        await run([python, "-c", _WORKER_IMPORT_CHECK], transcript, env=env)
    except RuntimeEnvSetupError:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    os.replace(partial, target)


def _write_venv_files(directory: str, packages: list[str]) -> str:
    """The parent's site directories (after the venv's own), and the requirements file."""
    with open(os.path.join(site_packages(directory), "_actorium_parent.pth"), "w") as pth:
        for parent in _parent_site_dirs():
            pth.write(f"import site; site.addsitedir({parent!r})\n")
    requirements = os.path.join(directory, "requirements.txt")
    with open(requirements, "w") as file:
        file.write("\n".join(packages) + "\n")
    return requirements


async def _pip_install(python: str, spec: dict[str, Any], requirements: str,
                       transcript: Transcript, env: dict[str, str]) -> None:
    if spec.get("pip_version"):
        await run([python, "-m", "pip", "install", f"pip{spec['pip_version']}"], transcript,
                  env=env)
    options = spec.get("pip_install_options", [])
    await run([python, "-m", "pip", "install", "-r", requirements, *options], transcript,
              env=env)
    if spec.get("pip_check"):
        await run([python, "-m", "pip", "check"], transcript, env=env)


async def _uv_install(python: str, spec: dict[str, Any], requirements: str,
                      transcript: Transcript, env: dict[str, str]) -> None:
    uv = [python, "-m", "uv"]
    try:
        if spec.get("uv_version"):
            raise RuntimeEnvSetupError("a specific uv version was asked for")
        await run([*uv, "--version"], transcript, env=env)
    except RuntimeEnvSetupError:
        # As Ray does: bring uv into the environment from the package index.
        await run([python, "-m", "pip", "install", f"uv{spec.get('uv_version', '')}"],
                  transcript, env=env)
    options = spec.get("uv_pip_install_options", [])
    await run([*uv, "pip", "install", "--python", python, "-r", requirements, *options],
              transcript, env=env)
    if spec.get("uv_check"):
        await run([*uv, "pip", "check", "--python", python], transcript, env=env)
