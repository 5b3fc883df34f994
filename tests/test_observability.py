"""Logs to the driver and to files, metrics, events and the state API (actorium.util.state)."""

from __future__ import annotations

import os
import re

import pytest
from polling import eventually

import actorium
from actorium._observe.log_collector import RotatingFile
from actorium.util import state

pytestmark = pytest.mark.timeout(90)


@actorium.remote
class Talker:
    def say(self, text):
        print(text)
        return text

    def complain(self, text):
        import sys
        print(text, file=sys.stderr)
        return text


@actorium.remote
def fails():
    raise KeyError("missing-key")


# ---------------------------------------------------------------------- logs
SCRIPT = """
import actorium
actorium.init(num_cpus=1{options})

@actorium.remote
class Counter:
    def hello(self):
        print("hello from the counter")
        import sys
        print("warning from the counter", file=sys.stderr)
        import logging
        logging.getLogger("twin").warning("logged by the counter")
        return 1

@actorium.remote
def task():
    print("hello from a task")

c = Counter.remote()
actorium.get(c.hello.remote())
actorium.get(task.remote())
import time; time.sleep(0.5)
actorium.shutdown()
"""


def test_worker_output_reaches_the_driver_prefixed_with_its_origin(run_script):
    done = run_script(SCRIPT.format(options=""), timeout=60)
    assert done.returncode == 0, done.stderr
    assert re.search(r"^\(Counter pid=\d+ node=[0-9a-f]{8}\) hello from the counter$",
                     done.stdout, re.M), done.stdout
    assert re.search(r"^\(task pid=\d+ node=[0-9a-f]{8}\) hello from a task$",
                     done.stdout, re.M), done.stdout
    assert re.search(r"^\(Counter pid=\d+ node=[0-9a-f]{8}\) warning from the counter$",
                     done.stderr, re.M), done.stderr
    assert "warning from the counter" not in done.stdout
    assert re.search(r"^\(Counter pid=\d+ node=[0-9a-f]{8}\) logged by the counter$",
                     done.stderr, re.M), done.stderr


def test_log_to_driver_false_keeps_worker_output_away_from_the_driver(run_script):
    done = run_script(SCRIPT.format(options=", log_to_driver=False"), timeout=60)
    assert done.returncode == 0, done.stderr
    assert "hello from" not in done.stdout + done.stderr


def test_worker_output_is_kept_in_per_worker_files_and_in_the_state_api(start_runtime):
    info = start_runtime(include_dashboard=False)
    talker = Talker.remote()
    assert actorium.get(talker.say.remote("line for the file")) == "line for the file"
    actorium.get(talker.complain.remote("line for stderr"))
    actor_id = talker._actor_id.hex()
    log_dir = os.path.join(info["session_dir"], "logs")

    def filed():
        texts = {}
        for name in os.listdir(log_dir):
            with open(os.path.join(log_dir, name), encoding="utf-8") as file:
                texts[name] = file.read()
        return texts if any("line for the file" in t for t in texts.values()) else None

    texts = eventually(filed)
    out_files = [name for name, text in texts.items() if "line for the file" in text]
    assert len(out_files) == 1 and re.fullmatch(r"worker-\d+\.out", out_files[0])
    err_files = [name for name, text in texts.items() if "line for stderr" in text]
    assert err_files and err_files[0].endswith(".err")

    lines = eventually(lambda: [row for row in state.list_logs()
                                if row.text == "line for the file"])
    assert lines[0].origin.startswith("Talker:")
    mine = eventually(lambda: {row.text for row in state.list_logs(actor_id=actor_id)} >= {
        "line for the file", "line for stderr"})
    assert mine


def test_a_rotating_file_keeps_a_bounded_number_of_backups(tmp_path):
    path = str(tmp_path / "worker.out")
    file = RotatingFile(path, max_bytes=100, backups=2)
    for index in range(50):
        file.write(f"line {index:04d} " + "x" * 20 + "\n")
    file.close()
    names = sorted(os.listdir(tmp_path))
    assert names == ["worker.out", "worker.out.1", "worker.out.2"]
    for name in names:
        assert os.path.getsize(tmp_path / name) < 100 + 40
    with open(path, encoding="utf-8") as newest:
        assert "line 0049" in newest.read()


# ---------------------------------------------------------------------- state API
def test_list_actors_shows_state_class_and_pid_and_filters(runtime):
    talker = Talker.options(name="observed-talker").remote()
    actorium.get(talker.say.remote("x"))
    rows = state.list_actors(filters=[("name", "=", "observed-talker")])
    assert len(rows) == 1
    row = rows[0]
    assert row.class_name == "Talker" and row["state"] == "ALIVE"
    assert isinstance(row.pid, int) and row.pid > 0
    assert state.get_actor(row.actor_id)["name"] == "observed-talker"
    assert all(r.state != "ALIVE" for r in state.list_actors(filters=[("state", "!=", "ALIVE")]))
    actorium.kill(talker)
    eventually(lambda: state.get_actor(row.actor_id).state == "DEAD")
    assert "killed" in state.get_actor(row.actor_id).death_reason


def test_list_tasks_reports_a_failed_task_with_its_error(runtime):
    with pytest.raises(KeyError):
        actorium.get(fails.remote())
    failed = eventually(lambda: [t for t in state.list_tasks(filters=[("state", "=", "FAILED")])
                                 if t.name == "fails"])
    assert "missing-key" in failed[-1].error


def test_list_nodes_and_workers_describe_this_machine(runtime):
    nodes = state.list_nodes()
    assert len(nodes) == 1
    assert nodes[0].resources_total["CPU"] == 2.0
    assert nodes[0].node_id == actorium.get_runtime_context().get_node_id()
    workers = eventually(lambda: [w for w in state.list_workers() if w.state != "starting"])
    assert all(isinstance(w.pid, int) for w in workers)
    assert {w.kind for w in workers} >= {"task"}


def test_list_objects_shows_a_put_value_with_its_size(runtime):
    ref = actorium.put(b"z" * 50_000)
    wanted = ref.hex()
    found = eventually(lambda: [o for o in state.list_objects() if o.object_id == wanted])
    assert found[0].size_bytes >= 50_000
    assert found[0].local_refs >= 1
    del ref


def test_the_timeline_records_an_actor_s_restart_and_death(start_runtime):
    start_runtime(include_dashboard=False)
    talker = Talker.options(max_restarts=1).remote()
    actorium.get(talker.say.remote("before"))
    actorium.kill(talker, no_restart=False)
    actorium.get(talker.say.remote("after"), timeout=30)
    actorium.kill(talker)
    kinds = eventually(lambda: {e.kind for e in state.list_events()} >= {
        "actor_created", "actor_alive", "actor_restarting", "actor_died"} and
        [e.kind for e in state.list_events()])
    assert kinds.index("actor_restarting") < len(kinds) - 1 - kinds[::-1].index("actor_died")


def test_bad_state_queries_fail_with_clear_errors(runtime):
    with pytest.raises(ValueError, match="predicate"):
        state.list_actors(filters=[("state", "~", "ALIVE")])
    with pytest.raises(ValueError, match="filter"):
        state.list_actors(filters=["state=ALIVE"])
    with pytest.raises(ValueError, match="limit"):
        state.list_actors(limit=0)
    with pytest.raises(AttributeError, match="no field 'nope'"):
        _ = state.list_nodes()[0].nope


# ---------------------------------------------------------------------- metrics
SAMPLE = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_]\w*="([^"\\]|\\.)*",?)*\})? '
                    r'-?[0-9.e+-]+|[+-]Inf|NaN$')


def test_metrics_count_calls_errors_and_latency_in_prometheus_format(runtime):
    talker = Talker.remote()
    actorium.get([talker.say.remote(i) for i in range(25)])
    with pytest.raises(KeyError):
        actorium.get(fails.remote())

    def calls():
        text = state.metrics_text()
        found = re.search(r'^actorium_calls_total\{kind="actor",name="Talker"\} (\d+)$', text,
                          re.M)
        # Each worker reports on its own (about once a second): the task worker that ran
        # fails() may report after the actor's worker, so wait for both.
        failed = re.search(r'^actorium_call_errors_total\{kind="task",name="fails"\} [1-9]',
                           text, re.M)
        return text if found and int(found.group(1)) >= 25 and failed else None

    text = eventually(calls)
    for line in text.splitlines():
        assert line.startswith("# ") or SAMPLE.match(line), line
    count = int(re.search(r'^actorium_call_duration_seconds_count\{kind="actor",name="Talker"\}'
                          r' (\d+)$', text, re.M).group(1))
    inf = int(re.search(r'^actorium_call_duration_seconds_bucket\{kind="actor",name="Talker",'
                        r'le="\+Inf"\} (\d+)$', text, re.M).group(1))
    assert count == inf >= 25
    assert re.search(r'^actorium_call_errors_total\{kind="task",name="fails"\} [1-9]', text, re.M)
    for family in ("actorium_actor_queue_length", "actorium_tasks", "actorium_actors",
                   "actorium_actor_restarts_total", "actorium_messages_total",
                   "actorium_message_bytes_total", "actorium_dropped_frames_total",
                   "actorium_object_store_bytes", "actorium_workers"):
        assert f"# TYPE {family} " in text, family
    received = re.search(r'^actorium_messages_total\{socket="node",direction="in"\} (\d+)$', text,
                         re.M)
    assert received and int(received.group(1)) > 0


def test_metrics_show_the_object_store_filling_and_emptying(runtime):
    def used():
        found = re.search(r'^actorium_object_store_bytes\{kind="used"\} (\d+)$',
                          state.metrics_text(), re.M)
        return int(found.group(1))

    before = used()
    big = actorium.put(b"y" * 5_000_000)
    assert used() >= before + 5_000_000
    del big
    eventually(lambda: used() <= before)
