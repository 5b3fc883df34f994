"""Ray's documented programs for its utility libraries run with actorium, and print what they
print with Ray.

Each program in ``ray_programs/`` is Ray's documentation program with the import lines of
actorium (``import actorium as ray``, ``from actorium.util.queue import ...``): the body is
unchanged. The suite runs each with actorium in a process of its own and checks its output.
With ``ACTORIUM_COMPARE_RAY=1`` and Ray in ``.venv-ray``, it also runs each with Ray (imports
swapped back) and checks both print the same lines (worker output lines aside).
"""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys

import pytest

HERE = pathlib.Path(__file__).resolve().parent
PROGRAMS = HERE / "ray_programs"
ROOT = HERE.parent.parent
RAY_PYTHON = ROOT / ".venv-ray" / "bin" / "python"

EXPECTED = {
    "actor_pool_guide.py": ["[2, 4, 6, 8]", "True", "2 4", "True", "2", "False", "True", "False",
                      "2", "True", "True"],
    "queue_guide.py": ["Put work 1 - 10 to queue...", "queue empty: True", "[1, 2] 1",
                 "[0, 1] 8"],
    "metrics_guide.py": ["Starting actor.", "Calling actor.", "Calling actor.",
                         "Metrics should be exported.",
                         'curr_count{actor_name="my_actor"} = -5',
                         'num_requests_total{actor_name="my_actor"} = 2',
                         'request_latency_sum{actor_name="my_actor"} = (measured)',
                         'request_latency_count{actor_name="my_actor"} = 2'],
    "dag_guide.py": ["functions: 9", "actors: 32", "input node: 10", "multi output: [2, 3]",
               "actor reuse: 3"],
}


def run(python: pathlib.Path | str, source: str, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run([str(python), "-c", source], capture_output=True, text=True,
                          timeout=timeout, cwd=str(ROOT))


def driver_lines(stdout: str) -> list[str]:
    """The lines the driver itself printed (worker lines start with their origin)."""
    plain = re.sub(r"\x1b\[[0-9;]*m", "", stdout)   # Ray colours the origin of worker lines
    return [line for line in plain.splitlines() if line and not line.startswith("(")]


@pytest.mark.multiprocess
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_rays_program_runs_with_actorium(name):
    source = (PROGRAMS / name).read_text()
    if "ray.init(" not in source:
        # Ray's program relies on init() happening on first use; that is issue 10's (auto
        # init): until then the runner starts the runtime first.
        source = source.replace("import actorium as ray\n", "import actorium as ray\n"
                                "ray.init()\n", 1)
    result = run(sys.executable, source, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert driver_lines(result.stdout) == EXPECTED[name]
    if name == "queue_guide.py":
        worker = [line for line in result.stdout.splitlines() if line.startswith("(")]
        got = sorted(int(line.rsplit(" ", 1)[1]) for line in worker if "got work" in line)
        assert got == list(range(10)), result.stdout


@pytest.mark.multiprocess
def test_rays_tqdm_program_draws_both_bars_in_the_driver():
    source = (PROGRAMS / "tqdm_guide.py").read_text()
    source = source.replace("import actorium as ray\n", "import actorium as ray\n"
                            "ray.init()\n", 1).replace("time.sleep(.1)", "time.sleep(.01)")
    source += "time.sleep(1)\n"     # the bars' last states travel with the workers' output
    result = run(sys.executable, source, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    for name in ("task 1", "task 2"):
        assert re.search(rf"^\(f pid=\d+ node=\w+\) {name}: 100%\|.*\| 100/100 ",
                         result.stderr, re.M), result.stderr


def as_ray(source: str) -> str:
    return source.replace("import actorium as ray", "import ray").replace(
        "from actorium.", "from ray.").replace("ray.init()", "ray.init(num_cpus=2, "
                                                           "include_dashboard=False)")


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("ACTORIUM_COMPARE_RAY") != "1" or not RAY_PYTHON.exists(),
                    reason="side-by-side with Ray: set ACTORIUM_COMPARE_RAY=1 with .venv-ray")
@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", sorted(set(EXPECTED) - {"metrics_guide.py"}))
def test_ray_prints_the_same(name):
    source = as_ray((PROGRAMS / name).read_text())
    if "ray.init(" not in source:
        source = source.replace("import ray\n", "import ray\nray.init(num_cpus=2, "
                                "include_dashboard=False)\n", 1)
    result = run(RAY_PYTHON, source, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    assert driver_lines(result.stdout) == EXPECTED[name]
