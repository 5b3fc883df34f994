"""How many of Ray's own Ray Core documentation programs run unchanged on actorium.

    python -m benchmarks.ray_docs_compat --ray-python PATH [--actorium-python PATH]
        [--only NAME,...] [--backend ray|actorium|both] [--reuse ray|actorium|both]
        [--include-unsafe]
        [--markdown FILE] [--json FILE] [--fetch-only] [--mirror GITDIR]

Each program of ``benchmarks/ray_docs_programs.py`` (Ray's ``doc_code/*.py`` at pinned
commits) is fetched into ``benchmarks/.cache/ray_docs/`` (git-ignored: Ray's code is not
ours to commit), checked against its SHA-256, then run twice as a user would run it,
``python program.py`` in a fresh working directory. Without network, ``--mirror GITDIR``
(or the environment variable ``RAY_DOCS_MIRROR``) names a local git clone or mirror of
ray-project/ray: each program is then read from it as the blob
``<commit>:doc/source/ray-core/doc_code/<name>`` instead of downloaded, and checked and
cached the same way.

* on Ray, with the Ray interpreter given;
* on actorium, unchanged: a ``sitecustomize`` put on ``PYTHONPATH`` makes every
  ``import ray`` / ``from ray.X import Y`` import ``actorium`` / ``actorium.X`` (and a
  module actorium does not have fails as it would for a user: ``ModuleNotFoundError``).

A program *runs* when it exits 0 within its timeout. The figure is "runs on actorium / runs
on Ray": programs that do not run on Ray on this machine (no GPU, an API of another Ray
version) say nothing about actorium and are listed apart. Every process a run starts
carries a marker in its environment; whatever is left of it afterwards is killed, so one
program cannot disturb the next. Results are kept in ``benchmarks/.cache/`` so that
``--only`` and ``--reuse`` re-run a part and report the whole.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from benchmarks import report
from benchmarks.ray_docs_programs import CORE_GUIDES, DOC_DIR, PROGRAMS, REPO, Program

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "benchmarks" / ".cache"
PROGRAM_CACHE = CACHE / "ray_docs"
RESULTS = CACHE / "ray_docs_results.json"
BACKENDS = ("ray", "actorium")
MARKER = "ACTORIUM_RAY_DOCS_RUN"

# Imported at start-up of every actorium run (and of its workers: they inherit PYTHONPATH).
# The loader puts the actorium module itself in sys.modules under the ray name, so
# ``ray is actorium`` and nothing of actorium's own module attributes is rewritten.
SHIM = '''\
import importlib, importlib.abc, importlib.util, sys


class _RayIsActorium(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path=None, target=None):
        if name != "ray" and not name.startswith("ray."):
            return None
        if importlib.util.find_spec("actorium" + name[3:]) is None:
            return None
        return importlib.util.spec_from_loader(name, self)

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        sys.modules[module.__name__] = importlib.import_module("actorium" + module.__name__[3:])


sys.meta_path.insert(0, _RayIsActorium())
'''


# ------------------------------------------------------------------------------ fetching
def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_mirror(git_dir: str) -> str:
    """``git_dir`` as an absolute path if it is a git repository, else a ValueError saying why."""
    try:
        done = subprocess.run(["git", "--git-dir", git_dir, "rev-parse", "--git-dir"],
                              capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise ValueError(f"cannot run git to read the mirror {git_dir}: {error}") from error
    if done.returncode != 0:
        raise ValueError(f"{git_dir} is not a git repository (a clone's .git directory or a "
                         f"bare mirror of {REPO}): {done.stderr.strip()}")
    return str(Path(git_dir).resolve())


def _from_mirror(program: Program, git_dir: str) -> tuple[bytes | None, str]:
    """The program's bytes read from the git mirror at its pinned commit, and where from."""
    where = f"{git_dir}:{program.commit}:{DOC_DIR}/{program.name}"
    try:
        done = subprocess.run(
            ["git", "--git-dir", git_dir, "cat-file", "blob",
             f"{program.commit}:{DOC_DIR}/{program.name}"],
            capture_output=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as error:
        print(f"cannot read {where}: {error}", file=sys.stderr)
        return None, where
    if done.returncode != 0:
        has_commit = subprocess.run(
            ["git", "--git-dir", git_dir, "cat-file", "-e", f"{program.commit}^{{commit}}"],
            capture_output=True, timeout=120).returncode == 0
        why = (f"the mirror has commit {program.commit} but not {DOC_DIR}/{program.name} in it"
               if has_commit else f"the mirror lacks commit {program.commit}")
        print(f"cannot read {program.name} from {git_dir}: {why}", file=sys.stderr)
        return None, where
    return done.stdout, where


def fetch(program: Program, mirror: str | None = None) -> Path | None:
    """The cached file of ``program``, downloading it (pinned commit) if needed, or reading
    it from the git mirror ``mirror`` (a git directory) when one is given.

    None when it is not cached and cannot be fetched; a file whose checksum differs from
    the manifest is refused, never run.
    """
    path = PROGRAM_CACHE / program.name
    if path.exists() and _sha256(path.read_bytes()) == program.sha256:
        return path
    if mirror is not None:
        data, where = _from_mirror(program, mirror)
        if data is None:
            return None
    else:
        where = program.url
        try:
            with urllib.request.urlopen(program.url, timeout=30) as response:  # noqa: S310
                data = response.read()
        except OSError as error:
            print(f"cannot fetch {program.url}: {error}", file=sys.stderr)
            return None
    if _sha256(data) != program.sha256:
        print(f"{program.name}: checksum of {where} differs from the manifest; "
              "not run", file=sys.stderr)
        return None
    PROGRAM_CACHE.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


# ------------------------------------------------------------------------------- running
def _marked_pids(token: str) -> list[int]:
    needle = f"{MARKER}={token}".encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if needle in environ.split(b"\0"):
            pids.append(int(entry.name))
    return pids


def _kill_leftovers(token: str) -> int:
    """Kill every process still carrying this run's marker; how many there were."""
    pids = _marked_pids(token)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except (ProcessLookupError, PermissionError):
                pass
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and _marked_pids(token):
            time.sleep(0.1)
        if not _marked_pids(token):
            break
    return len(pids)


_EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt|Timeout)\b.*)$")


def _failure_line(stderr: str) -> str:
    """The line of stderr that names the failure (the last exception line, else the last)."""
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    for line in reversed(lines):
        if _EXCEPTION_LINE.match(line):
            return line[:200]
    return lines[-1][:200] if lines else ""


def run(program: Program, path: Path, backend: str, python: str) -> dict[str, Any]:
    """Run one program on one backend in a fresh directory; the outcome as a dict."""
    token = f"{os.getpid()}-{time.monotonic_ns()}"
    with tempfile.TemporaryDirectory(prefix=f"ray-docs-{backend}-") as work:
        env = {key: value for key, value in os.environ.items()
               if not key.startswith(("RAY_", "ACTORIUM_"))}
        env[MARKER] = token
        env["RAY_USAGE_STATS_ENABLED"] = "0"
        if backend == "actorium":
            shim = Path(work) / "_shim"
            shim.mkdir()
            (shim / "sitecustomize.py").write_text(SHIM, encoding="utf-8")
            env["PYTHONPATH"] = os.pathsep.join(
                [str(shim), str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
        for scratch in program.scratch:
            Path(scratch).unlink(missing_ok=True)
        started = time.monotonic()
        status, returncode = "fail", None
        out_path, err_path = Path(work) / "stdout", Path(work) / "stderr"
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            proc = subprocess.Popen([python, str(path)], cwd=work, env=env, stdout=out,
                                    stderr=err, stdin=subprocess.DEVNULL,
                                    start_new_session=True)
            try:
                returncode = proc.wait(timeout=program.timeout)
                status = "pass" if returncode == 0 else "fail"
            except subprocess.TimeoutExpired:
                status = "timeout"
        seconds = time.monotonic() - started
        leftovers = _kill_leftovers(token)
        proc.wait()
        for scratch in program.scratch:
            Path(scratch).unlink(missing_ok=True)
        stderr = err_path.read_text(encoding="utf-8", errors="replace")
    return {
        "program": program.name, "backend": backend, "sha256": program.sha256,
        "status": status, "returncode": returncode, "seconds": round(seconds, 1),
        "error": "" if status == "pass" else (
            _failure_line(stderr) if status == "fail"
            else f"no exit after {program.timeout:.0f} s"),
        "traceback_in_stderr": "Traceback (most recent call last)" in stderr,
        "leftover_processes": leftovers,
        "stderr_tail": "\n".join(stderr.strip().splitlines()[-25:]),
    }


def _version(python: str, module: str) -> str:
    try:
        return subprocess.run([python, "-c", f"import {module}; print({module}.__version__)"],
                              capture_output=True, text=True, timeout=120,
                              cwd=ROOT).stdout.strip() or "?"
    except (OSError, subprocess.TimeoutExpired):
        return "?"


# ------------------------------------------------------------------------------- results
def _load_results() -> dict[str, dict[str, Any]]:
    try:
        return dict(json.loads(RESULTS.read_text(encoding="utf-8"))["results"])
    except (OSError, ValueError, KeyError):
        return {}


def _save(produced: dict[str, dict[str, Any]],
          info: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """Merge this run's outcomes into the results file (another run may have written it
    meanwhile: only the outcomes produced here replace what is there); the merged whole."""
    try:
        saved = json.loads(RESULTS.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        saved = {}
    results = dict(saved.get("results", {})) | produced
    CACHE.mkdir(parents=True, exist_ok=True)
    partial = RESULTS.with_suffix(f".{os.getpid()}.tmp")
    partial.write_text(json.dumps({"machine": info or saved.get("machine"), "results": results},
                                  indent=1), encoding="utf-8")
    partial.replace(RESULTS)
    return results


def _key(program: Program, backend: str) -> str:
    return f"{backend}:{program.name}"


def summarize(results: dict[str, dict[str, Any]],
              programs: Iterable[Program]) -> dict[str, Any]:
    """Counts for the figure: overall, and over the guides issue 10 names."""
    def outcome(program: Program, backend: str) -> str:
        return str(results.get(_key(program, backend), {}).get("status", "not run"))

    def count(selected: list[Program]) -> dict[str, Any]:
        on_ray = [p for p in selected if outcome(p, "ray") == "pass"]
        both = [p for p in on_ray if outcome(p, "actorium") == "pass"]
        return {"programs": len(selected), "run_on_ray": len(on_ray),
                "run_on_both": len(both),
                "ratio": round(len(both) / len(on_ray), 3) if on_ray else None,
                "fail_on_actorium": [p.name for p in on_ray if p not in both],
                "only_on_actorium": [p.name for p in selected if p not in on_ray
                                     and outcome(p, "actorium") == "pass"]}

    programs = list(programs)
    return {"all": count(programs),
            "core": count([p for p in programs if p.guide in CORE_GUIDES])}


def markdown(results: dict[str, dict[str, Any]], programs: list[Program],
             info: dict[str, Any]) -> str:
    summary = summarize(results, programs)
    core, every = summary["core"], summary["all"]
    lines = [
        f"Ray Core documentation programs, {info['date']}, {info['cpu_model']}, "
        f"{info['cores']} cores, load {info['load']}; Ray {info['ray_version']}, "
        f"actorium {info['actorium_version']}.",
        "",
        f"**Core guides: {core['run_on_both']} of the {core['run_on_ray']} programs that run "
        f"on Ray run unchanged on actorium** ({core['programs']} programs in the guides). "
        f"All guides: {every['run_on_both']} of {every['run_on_ray']}.",
        "",
        "| program | guide | Ray | actorium | why it fails on actorium |",
        "|---|---|---|---|---|",
    ]
    for program in programs:
        ray = results.get(_key(program, "ray"), {})
        ours = results.get(_key(program, "actorium"), {})
        why = ours.get("error", "") if ours.get("status") != "pass" else ""
        if ours.get("status") == "pass" and ours.get("traceback_in_stderr"):
            why = "(passes; a traceback was printed)"
        lines.append(f"| {program.name} | {program.guide} | {ray.get('status', 'not run')} | "
                     f"{ours.get('status', 'not run')} | {why.replace('|', '/')} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ray-python", required=True, metavar="PATH")
    parser.add_argument("--actorium-python", default=sys.executable, metavar="PATH")
    parser.add_argument("--only", default=None, help="comma-separated program names")
    parser.add_argument("--reuse", choices=("ray", "actorium", "both"), default=None,
                        help="take this backend's results from the last run instead of running")
    parser.add_argument("--backend", choices=("ray", "actorium", "both"), default="both",
                        help="run only this side (the other keeps its last results)")
    parser.add_argument("--include-unsafe", action="store_true",
                        help="also run programs that disturb the whole machine")
    parser.add_argument("--markdown", default=None, metavar="FILE")
    parser.add_argument("--json", default=None, metavar="FILE")
    parser.add_argument("--fetch-only", action="store_true")
    parser.add_argument("--mirror", default=os.environ.get("RAY_DOCS_MIRROR") or None,
                        metavar="GITDIR",
                        help=f"read the programs from this local git mirror of {REPO} "
                             "instead of downloading them (default: $RAY_DOCS_MIRROR)")
    args = parser.parse_args(argv)
    if args.mirror is not None:
        try:
            args.mirror = check_mirror(args.mirror)
        except ValueError as error:
            parser.error(str(error))

    names = set(args.only.split(",")) if args.only else None
    unknown = (names or set()) - {p.name for p in PROGRAMS}
    if unknown:
        parser.error(f"unknown programs: {', '.join(sorted(unknown))}")
    selected = [p for p in PROGRAMS if names is None or p.name in names]
    interpreters = {"ray": args.ray_python, "actorium": args.actorium_python}
    reuse = {"ray": ("ray",), "actorium": ("actorium",), "both": BACKENDS}.get(args.reuse or "", ())

    results = _load_results()
    produced: dict[str, dict[str, Any]] = {}
    load_before = os.getloadavg()[0]
    for program in selected:
        path = fetch(program, args.mirror)
        if path is None or args.fetch_only:
            continue
        if program.unsafe and not args.include_unsafe:
            for backend in BACKENDS:
                results[_key(program, backend)] = {"status": "skipped",
                                                   "error": f"not run: {program.unsafe}"}
            continue
        for backend in BACKENDS:
            if args.backend not in (backend, "both"):
                continue
            previous = results.get(_key(program, backend))
            if backend in reuse and previous and previous.get("sha256") == program.sha256:
                continue
            print(f"[{backend}] {program.name} ...", file=sys.stderr, flush=True)
            outcome = run(program, path, backend, interpreters[backend])
            print(f"[{backend}] {program.name}: {outcome['status']} in {outcome['seconds']} s"
                  + (f" ({outcome['error']})" if outcome["error"] else ""),
                  file=sys.stderr, flush=True)
            results[_key(program, backend)] = produced[_key(program, backend)] = outcome
            _save(produced)
    if args.fetch_only:
        return 0

    machine = report.machine_info()
    info = machine | {
        "load": f"{load_before:.1f}-{os.getloadavg()[0]:.1f}",
        "ray_version": _version(args.ray_python, "ray"),
        "actorium_version": _version(args.actorium_python, "actorium"),
    }
    results = _save(produced, info)
    text = markdown(results, list(PROGRAMS), info)
    print(text)
    summary = summarize(results, PROGRAMS)
    if args.markdown:
        Path(args.markdown).write_text(text, encoding="utf-8")
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": info, "summary": summary,
                                               "results": results}, indent=1),
                                   encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
