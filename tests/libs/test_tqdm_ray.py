"""experimental.tqdm_ray and the terminal bars: bars of many tasks and actors drawn as one
block in the driver's terminal, with printed lines scrolling above them, never garbled.

The screen is checked the way a person sees it: the bytes written to a pseudo-terminal are
replayed in a VT100 emulator (pyte), and the final screen is read line by line.
"""

from __future__ import annotations

import io
import os
import pty
import re
import select
import subprocess
import sys
import time

import pyte
import pytest

import actorium as ray
from actorium._observe import progress
from actorium._observe.driver_events import MARK
from actorium.experimental.tqdm_ray import tqdm

COLUMNS, ROWS = 100, 60


class FakeTTY(io.StringIO):
    """A stream that says it is a terminal and feeds what it gets to an emulated screen."""

    def __init__(self, feed):
        super().__init__()
        self._feed = feed

    def isatty(self):
        return True

    def write(self, text):
        self._feed(text)
        return len(text)


def screen_lines(screen):
    return [line.rstrip() for line in screen.display if line.strip()]


@pytest.fixture
def fake_terminal(monkeypatch):
    """This process's stdout and stderr as one emulated terminal; a fresh bar Terminal.

    Installed when the test first uses it (pytest's own capture sets sys.stdout back when
    the test starts, so a fixture cannot replace it earlier)."""
    return lambda: emulate_terminal(monkeypatch)


def emulate_terminal(monkeypatch):
    screen = pyte.Screen(COLUMNS, ROWS)
    stream = pyte.Stream(screen)

    def feed(text):
        stream.feed(text.replace("\n", "\r\n"))   # a tty's output translation (onlcr)

    monkeypatch.setattr(sys, "stdout", FakeTTY(feed))
    monkeypatch.setattr(sys, "stderr", FakeTTY(feed))
    monkeypatch.setattr(progress, "_terminal", progress.Terminal())
    monkeypatch.setattr(progress.shutil, "get_terminal_size",
                        lambda fallback=None: os.terminal_size((COLUMNS, ROWS)))
    return screen


# ---------------------------------------------------------------------- the terminal block
def test_output_scrolls_above_the_bars_and_closed_bars_stay_as_lines(fake_terminal):
    screen = fake_terminal()
    terminal = progress.terminal()
    terminal.update("a", desc="alpha", total=10, n=0)
    terminal.update("b", desc="beta", total=4, n=1)
    print("first log line")
    terminal.update("a", n=5, force=True)
    sys.stderr.write("an error line\n")
    print("partial", end="")
    terminal.update("b", n=2, force=True)     # not drawn over a partial line
    print(" then finished")
    terminal.update("b", n=4, force=True)
    terminal.close("b")
    print("after beta closed")
    lines = screen_lines(screen)
    assert lines[0] == "first log line"
    assert lines[1] == "an error line"
    assert lines[2] == "partial then finished"
    assert lines[3].startswith("beta: 100%|") and lines[3].endswith("4/4 [00:00<00:00, "
                                                                    + lines[3].split(", ")[-1])
    assert lines[4] == "after beta closed"
    assert lines[5].startswith("alpha:  50%|") and "5/10" in lines[5]
    assert len(lines) == 6                     # nothing left over from earlier drawings
    assert isinstance(sys.stdout, progress._BarAwareStream)
    terminal.close("a")
    assert not isinstance(sys.stdout, progress._BarAwareStream)   # unwrapped with the last
    assert screen_lines(screen)[-1].startswith("alpha:  50%|")


def test_bars_are_ordered_by_process_and_position(fake_terminal):
    screen = fake_terminal()
    terminal = progress.terminal()
    terminal.update("y2", desc="y second", group="y", position=1, n=1)
    terminal.update("x", desc="x only", group="x", n=1)
    terminal.update("y1", desc="y first", group="y", position=0, n=1)
    assert [bar.desc for bar in terminal.bars()] == ["x only", "y first", "y second"]
    lines = screen_lines(screen)
    assert [line.split(":")[0] for line in lines] == ["x only", "y first", "y second"]
    for key in ("x", "y1", "y2"):
        terminal.close(key)


def test_bar_rendering():
    bar = progress.Bar("k", "load", 200, "B", ())
    bar.n = 50
    bar.started = 0.0
    line = bar.render(60, now=10.0)
    assert line.startswith("load:  25%|") and line.endswith("| 50/200 [00:10<00:30, 5.00B/s]")
    assert len(line) == 60
    unknown = progress.Bar("k", "", None, "it", ())
    unknown.n, unknown.started = 7, 0.0
    assert unknown.render(60, now=3725.0) == "7it [1:02:05, 0.00it/s]"


def test_without_a_terminal_a_bar_prints_one_line_when_it_closes(monkeypatch):
    out = io.StringIO()
    monkeypatch.setattr(sys, "stderr", out)
    monkeypatch.setattr(progress, "_terminal", progress.Terminal())
    with progress.progress_bar("waiting for nodes", total=3, unit=" nodes") as bar:
        bar.set(1)
        print("no drawing in between", file=sys.stderr)
        bar.set(3)
    lines = out.getvalue().splitlines()
    assert lines[0] == "no drawing in between"
    assert lines[1].startswith("waiting for nodes: 100%|") and "3/3" in lines[1]
    assert len(lines) == 2 and "\x1b" not in out.getvalue()


# ---------------------------------------------------------------------- the tqdm API
def test_tqdm_in_the_driver_draws_locally(fake_terminal):
    screen = fake_terminal()
    for _ in tqdm(range(3), desc="local", flush_interval_s=0):
        pass
    with tqdm(total=10, desc="manual", unit="B") as bar:
        bar.update(4)
        bar.set_description("renamed")
        bar.n = 6
        bar.refresh()
        assert bar.n == 6 and bar.total == 10
    lines = screen_lines(screen)
    assert lines[0].startswith("local: 100%|") and "3/3" in lines[0]
    assert lines[1].startswith("renamed:  60%|") and "6/10" in lines[1]
    with pytest.raises(ValueError, match="No iterable"):
        iter(tqdm(total=1)).__next__()
    with pytest.raises(ValueError, match="position"):
        tqdm(position=-1)


@ray.remote
def worker_bar(name):
    bar = tqdm(total=2, desc=name, flush_interval_s=0)
    bar.update(2)
    bar.close()
    return os.getpid()


def test_a_workers_bar_reaches_the_driver_as_an_event_not_a_log_line(runtime, capfd):
    ray.get(worker_bar.remote("remote bar"))
    deadline = time.monotonic() + 20
    seen = ""
    while time.monotonic() < deadline and "remote bar" not in seen:
        time.sleep(0.1)
        seen += capfd.readouterr().err
    assert re.search(r"\(worker_bar pid=\d+ node=\w+\) remote bar: 100%\|.*2/2", seen), seen
    assert MARK not in seen
    logs = ray.util.state.list_logs(limit=2000)
    assert not any(MARK in row["text"] for row in logs)   # kept out of the node's log views


# ---------------------------------------------------------------------- the whole program
PROGRAM = r'''
import time
import actorium as ray
from actorium.experimental.tqdm_ray import tqdm

ray.init(num_cpus=2)

@ray.remote
def f(name):
    for x in tqdm(range(40), desc=name, flush_interval_s=0.02):
        if x % 10 == 5:
            print(f"{name} is at step {x}")
        time.sleep(0.02)

@ray.remote
class Loader:
    def load(self, parts):
        bar = tqdm(total=parts, desc="loading", unit="part", flush_interval_s=0.02)
        for part in range(parts):
            bar.update(1)
            print(f"loaded part {part}")
            time.sleep(0.03)
        bar.close()

loader = Loader.remote()
ray.get([f.remote("task 1"), f.remote("task 2"), loader.load.remote(6)])
time.sleep(0.5)
print("driver says goodbye")
ray.shutdown()
'''


def run_in_a_pty(source, timeout=90):
    primary, secondary = pty.openpty()
    os.set_blocking(primary, False)
    import fcntl
    import struct
    import termios
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
    env = dict(os.environ, TERM="xterm", COLUMNS=str(COLUMNS), LINES=str(ROWS))
    process = subprocess.Popen([sys.executable, "-c", source], stdin=subprocess.DEVNULL,
                               stdout=secondary, stderr=secondary, env=env,
                               start_new_session=True)
    os.close(secondary)
    output = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([primary], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(primary, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                output += chunk
            elif process.poll() is not None:
                break
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
        os.close(primary)
    return process.returncode, output.decode("utf-8", "replace")


@pytest.mark.multiprocess
@pytest.mark.timeout(120)
def test_bars_of_tasks_and_actors_and_their_logs_share_the_drivers_terminal(no_runtime):
    code, output = run_in_a_pty(PROGRAM)
    assert code == 0, output[-3000:]
    assert "\r\x1b[J" in output and "\x1b[2A" in output   # bars were drawn live, and moved
    screen = pyte.Screen(COLUMNS, ROWS)
    pyte.Stream(screen).feed(output)
    lines = screen_lines(screen)
    logs = [line for line in lines if "%|" not in line]
    bars = [line for line in lines if "%|" in line]
    expected_logs = {f"task {n} is at step {step}" for n in (1, 2) for step in (5, 15, 25, 35)}
    expected_logs |= {f"loaded part {part}" for part in range(6)}
    printed = [re.sub(r"^\(\w+ pid=\d+ node=\w+\) ", "", line) for line in logs]
    for text in expected_logs:
        assert printed.count(text) == 1, (text, lines)     # each once, whole, on its own line
    assert "driver says goodbye" in printed
    assert set(printed) - expected_logs - {"driver says goodbye"} == set(), lines
    assert len(bars) == 3, lines                            # one final line per bar, no debris
    for name, total in (("task 1", 40), ("task 2", 40), ("loading", 6)):
        [bar] = [line for line in bars if f") {name}: 100%|" in line]
        assert re.search(rf"\| {total}/{total} ", bar), bar
        assert re.match(r"^\((f|Loader) pid=\d+ node=\w+\) ", bar), bar


# ---------------------------------------------------------------------- the CLI's long waits
# actorium status --wait-for-nodes is tested on the cluster of tests/test_cluster.py.


def test_the_wait_bar_of_the_cli_shows_elapsed_time():
    bar = progress.Bar("k", "waiting for the head", None, "", ())
    bar.started = 0.0
    assert bar.render(80, now=75.0) == "waiting for the head: 01:15"
