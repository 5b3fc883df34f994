"""runtime_env: environment variables, code and packages reach the workers that need them.

Expected values of inheritance were checked side by side with Ray 2.60 (same program, same
results). Virtualenvs are built from wheels made here, installed from a local path, with one
test against a small real package of the registry.
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.request

import pytest
from polling import eventually
from runtime_env_helpers import build_wheel, silent_index

import actorium
from actorium.exceptions import RuntimeEnvSetupError

pytestmark = [pytest.mark.timeout(120)]


@pytest.fixture
def env_cache(tmp_path, monkeypatch):
    """A runtime env cache of this test's own (the node inherits the variable)."""
    root = tmp_path / "cache"
    monkeypatch.setenv("ACTORIUM_RUNTIME_ENV_DIR", str(root))
    return root


@actorium.remote
def environment() -> tuple[dict[str, str | None], dict]:
    return ({k: os.environ.get(k) for k in ("A", "B", "C")},
            dict(actorium.get_runtime_context().runtime_env))


@actorium.remote(runtime_env={"env_vars": {"B": "task", "C": "task"}})
def nested() -> tuple:
    return (actorium.get(environment.remote()),
            actorium.get(environment.options(runtime_env={"env_vars": {"C": "child"}}).remote()))


@actorium.remote
def process_mark() -> tuple[int, str | None]:
    return os.getpid(), os.environ.get("MARK")


# ---------------------------------------------------------------------- env_vars, inheritance
def test_env_vars_are_inherited_and_merged_name_by_name_as_in_ray(start_runtime, env_cache):
    start_runtime(runtime_env={"env_vars": {"A": "job", "B": "job"}})
    assert actorium.get(environment.remote()) == (
        {"A": "job", "B": "job", "C": None}, {"env_vars": {"A": "job", "B": "job"}})
    assert actorium.get(environment.options(runtime_env={"env_vars": {"B": "opt"}}).remote()) \
        == ({"A": "job", "B": "opt", "C": None}, {"env_vars": {"A": "job", "B": "opt"}})
    inherited, overridden = actorium.get(nested.remote())
    assert inherited == ({"A": "job", "B": "task", "C": "task"},
                         {"env_vars": {"A": "job", "B": "task", "C": "task"}})
    assert overridden == ({"A": "job", "B": "task", "C": "child"},
                          {"env_vars": {"A": "job", "B": "task", "C": "child"}})
    assert actorium.get_runtime_context().runtime_env == {"env_vars": {"A": "job", "B": "job"}}


def test_a_worker_of_one_environment_never_runs_a_task_of_another(runtime):
    marked = {mark: process_mark.options(runtime_env={"env_vars": {"MARK": mark}})
              for mark in ("red", "blue")}
    refs = []
    for _ in range(12):
        refs += [process_mark.remote(), marked["red"].remote(), marked["blue"].remote()]
    seen: dict[int, set[str | None]] = {}
    for pid, mark in actorium.get(refs):
        seen.setdefault(pid, set()).add(mark)
    assert all(len(marks) == 1 for marks in seen.values()), seen
    assert {m for marks in seen.values() for m in marks} == {None, "red", "blue"}


@actorium.remote
class Marked:
    def mark(self) -> tuple[int, str | None]:
        return os.getpid(), os.environ.get("MARK")


def test_actors_live_in_workers_of_their_environment(runtime):
    plain = Marked.remote()
    red = Marked.options(runtime_env={"env_vars": {"MARK": "red"}}).remote()
    dedicated = Marked.options(num_cpus=1, runtime_env={"env_vars": {"MARK": "blue"}}).remote()
    (plain_pid, plain_mark), (red_pid, red_mark), (blue_pid, blue_mark) = actorium.get(
        [plain.mark.remote(), red.mark.remote(), dedicated.mark.remote()])
    assert (plain_mark, red_mark, blue_mark) == (None, "red", "blue")
    assert len({plain_pid, red_pid, blue_pid}) == 3
    for handle in (plain, red, dedicated):
        actorium.kill(handle)


# ---------------------------------------------------------------------- working_dir, py_modules
@actorium.remote
def look_around() -> dict:
    import helper  # shipped in the working_dir
    import tools  # shipped as a py_module
    return {"cwd": os.getcwd(), "helper": helper.VALUE, "tools": tools.NAME,
            "files": sorted(os.listdir(".")), "data": open("data.txt").read()}


def test_working_dir_is_the_current_directory_and_importable_with_py_modules(
        start_runtime, env_cache, tmp_path):
    project = tmp_path / "project"
    (project / "big").mkdir(parents=True)
    (project / "helper.py").write_text("VALUE = 'shipped'\n")
    (project / "data.txt").write_text("payload")
    (project / "big" / "weights.bin").write_bytes(b"0" * 1000)
    library = tmp_path / "lib" / "tools"
    library.mkdir(parents=True)
    (library / "__init__.py").write_text("NAME = 'tools'\n")
    start_runtime(runtime_env={"working_dir": str(project), "py_modules": [str(library)],
                               "excludes": ["big/"]})
    seen = actorium.get(look_around.remote())
    assert seen["helper"] == "shipped" and seen["tools"] == "tools" and seen["data"] == "payload"
    assert seen["files"] == ["data.txt", "helper.py"]       # big/ was left out
    assert seen["cwd"].startswith(str(env_cache / "pkgs"))  # unpacked, not the original
    # Changing the directory later does not change what this job runs: it was shipped.
    (project / "helper.py").write_text("VALUE = 'edited'\n")
    assert actorium.get(look_around.remote())["helper"] == "shipped"


# ---------------------------------------------------------------------- pip and uv
PROBE_SOURCE = "VALUE = 'probe {version}'\n"


@actorium.remote
def probe_value() -> tuple[str, str]:
    import actorium_probe
    return actorium_probe.VALUE, sys.prefix


@actorium.remote
def can_import_probe() -> bool:
    try:
        import actorium_probe  # noqa: F401
    except ModuleNotFoundError:
        return False
    return True


def _probe_wheel(tmp_path, version: str = "1.0") -> str:
    return build_wheel(str(tmp_path / "wheels"), "actorium_probe", version,
                       PROBE_SOURCE.format(version=version))


def test_pip_installs_a_wheel_into_a_virtualenv_used_only_by_its_workers(
        start_runtime, env_cache, tmp_path):
    wheel = _probe_wheel(tmp_path)
    start_runtime()
    env = {"pip": [wheel]}
    value, prefix = actorium.get(probe_value.options(runtime_env=env).remote())
    assert value == "probe 1.0" and prefix.startswith(str(env_cache / "pip"))
    assert actorium.get(can_import_probe.remote()) is False   # the default env lacks it

    @actorium.remote(runtime_env=env)
    class Prober:
        def value(self) -> str:
            import actorium_probe
            return actorium_probe.VALUE

    prober = Prober.remote()
    assert actorium.get(prober.value.remote()) == "probe 1.0"
    actorium.kill(prober)


def test_a_virtualenv_is_built_once_per_requirement_list_and_reused_later(
        start_runtime, env_cache, tmp_path):
    wheel = _probe_wheel(tmp_path)
    start_runtime()
    first = actorium.get(probe_value.options(runtime_env={"pip": [wheel]}).remote())[1]
    # Another environment with the same requirements (but other variables) shares it.
    other = actorium.get(probe_value.options(
        runtime_env={"pip": [wheel], "env_vars": {"X": "1"}}).remote())[1]
    assert other == first
    actorium.shutdown()
    start_runtime()
    assert actorium.get(probe_value.options(runtime_env={"pip": [wheel]}).remote())[1] == first
    logs = list((env_cache / "logs").iterdir())
    assert len(logs) == 1 and logs[0].read_text().count(" -m pip install") == 1


def test_uv_installs_a_wheel_and_init_builds_the_job_environment_eagerly(
        start_runtime, env_cache, tmp_path):
    pytest.importorskip("uv", reason="the uv package is part of the test extras")
    wheel = _probe_wheel(tmp_path, "2.0")
    start_runtime(runtime_env={"uv": {"packages": [wheel],
                                      "uv_pip_install_options": ["--offline"]}})
    # eager_install (the default): the node builds it before any task asks for it.
    eventually(lambda: any(p.is_dir() and "." not in p.name
                           for p in (env_cache / "uv").iterdir()), timeout=60)
    value, prefix = actorium.get(probe_value.remote())
    assert value == "probe 2.0" and prefix.startswith(str(env_cache / "uv"))


@actorium.remote
def six_version() -> str:
    import six
    return str(six.__version__)


def test_a_small_real_package_comes_from_the_registry(start_runtime, env_cache):
    start_runtime()
    assert actorium.get(six_version.options(runtime_env={"pip": ["six==1.16.0"]}).remote(),
                        timeout=100) == "1.16.0"


# ---------------------------------------------------------------------- failures
def test_a_failing_setup_fails_fast_with_the_installer_output_and_is_not_retried(
        start_runtime, env_cache, tmp_path):
    start_runtime()
    missing = str(tmp_path / "missing-1.0-py3-none-any.whl")
    broken = probe_value.options(runtime_env={"pip": [missing]}, max_retries=3)
    refs = [broken.remote() for _ in range(3)]
    started = time.monotonic()
    for ref in refs:
        with pytest.raises(RuntimeEnvSetupError) as caught:
            actorium.get(ref, timeout=60)
        message = str(caught.value)
        assert message.startswith("Failed to set up runtime environment.")
        assert missing in message and "pip" in message
    assert time.monotonic() - started < 45
    logs = list((env_cache / "logs").iterdir())
    # Three tasks queued for one environment: one attempt, not one per task or retry.
    assert len(logs) == 1 and logs[0].read_text().count(" -m pip install") == 1
    assert actorium.get(can_import_probe.remote()) is False   # the node is fine

    @actorium.remote(runtime_env={"pip": [missing]}, max_restarts=3)
    class Never:
        def ping(self) -> int:
            return 1

    with pytest.raises(RuntimeEnvSetupError, match="Could not create the actor"):
        actorium.get(Never.remote().ping.remote(), timeout=60)


@actorium.remote
def quick() -> str:
    return "done"


def test_setup_runs_beside_other_work_and_its_timeout_stops_the_installer(
        start_runtime, env_cache):
    start_runtime()

    def waiting_on(index: str, package: str, timeout: int) -> actorium.ObjectRef:
        return quick.options(runtime_env={
            "pip": {"packages": [package],
                    "pip_install_options": ["--index-url", index, "--timeout", "100",
                                            "--no-cache-dir"]},
            "config": {"setup_timeout_seconds": timeout}}).remote()

    with silent_index() as index:
        stuck = waiting_on(index, "never-answered-package", 600)
        # While pip waits on the silent index, the node keeps running everything else.
        assert actorium.get([quick.remote() for _ in range(4)], timeout=60) == ["done"] * 4
        ready, _ = actorium.wait([stuck], timeout=0)
        assert ready == []
        # A setup that outlives its setup_timeout_seconds fails, and its pip is killed.
        with pytest.raises(RuntimeEnvSetupError, match="setup_timeout_seconds"):
            actorium.get(waiting_on(index, "another-unanswered-package", 2), timeout=60)
        actorium.cancel(stuck)
    # The leak guard (at this test's shutdown) fails the test if a pip was left running.


# ---------------------------------------------------------------------- cleanup
@actorium.remote
def where_am_i() -> str:
    return os.getcwd()


@actorium.remote
class Resident:
    def where(self) -> str:
        return os.getcwd()


def test_unused_environments_are_removed_once_over_budget_used_ones_stay(
        start_runtime, env_cache, tmp_path, monkeypatch):
    monkeypatch.setenv("ACTORIUM_RUNTIME_ENV_CACHE_MB", "0")
    monkeypatch.setenv("ACTORIUM_ENV_WORKER_IDLE_SECONDS", "0.2")
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "marker.txt").write_text(name)
    start_runtime()
    resident = Resident.options(runtime_env={"working_dir": str(tmp_path / "two")}).remote()
    kept = actorium.get(resident.where.remote())
    gone = actorium.get(where_am_i.options(
        runtime_env={"working_dir": str(tmp_path / "one")}).remote())
    assert os.path.isdir(gone) and gone != kept
    # The task's worker goes idle, is stopped, and nothing else uses its directory.
    eventually(lambda: not os.path.exists(gone), timeout=30)
    assert os.path.isdir(kept)            # the actor still runs from it
    actorium.kill(resident)
    eventually(lambda: not os.path.exists(kept), timeout=30)


# ---------------------------------------------------------------------- jobs need a head
def test_the_dashboard_of_an_embedded_runtime_has_no_jobs_and_says_why(start_runtime):
    info = start_runtime()
    request = urllib.request.Request(info.dashboard_url + "/api/jobs/", headers={
        "Authorization": f"Bearer {info['dashboard_token']}"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 503
    assert "actorium start --head" in json.loads(refused.value.read())["error"]
