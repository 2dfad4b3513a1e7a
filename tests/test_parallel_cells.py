"""Cells side by side on one machine (--jobs): the same numbers as one at a time, each record saying
what shared the machine; every record says where its wall time went."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.core.errors import BenchError
from bench.core.store import ResultsStore
from bench.session import RunSpec, run
from bench.session.plugins import WORKER_PRELOAD, PluginSetup
from bench.training.executors import LocalExecutor
from bench.training.isolation import call_in_children, fork_server
from bench.training.runner import WorkerSettings
from tests.child_functions import sleep_then_pid
from tests.helpers import run_tiny, tiny_grid, tiny_spec

ROOT = Path(__file__).resolve().parent.parent


def test_children_run_at_most_so_many_at_once_and_every_result_comes_back():
    context = fork_server([])
    tasks = [(sleep_then_pid, (1.0,), f"sleeper-{index}") for index in range(5)]
    results = dict(call_in_children(context, tasks, at_once=2))
    assert sorted(results) == [0, 1, 2, 3, 4] and len({pid for pid, _, _ in results.values()}) == 5
    spans = [(began, ended) for _, began, ended in results.values()]
    most_at_once = max(sum(began <= moment < ended for began, ended in spans) for moment, _ in spans)
    assert most_at_once == 2


_FORK_SERVERS = """
from bench.training.isolation import Child, call_in_child, fork_server
from tests.child_functions import module_loaded, sleep_then_pid

call_in_child(fork_server([]), sleep_then_pid, 0.0)
print(call_in_child(fork_server(["colorsys"]), module_loaded, "colorsys"))
running = Child(fork_server([]), sleep_then_pid, (1.0,), "sleeper")
fork_server(["sched"])  # while a child of the server runs: the server stays
print(isinstance(running.result(), tuple), call_in_child(fork_server([]), module_loaded, "sched"))
print(call_in_child(fork_server(["sched"]), module_loaded, "sched"))
"""


def test_a_fork_server_lacking_the_modules_asked_for_is_replaced_once_no_child_of_it_runs():
    """Else every child of a server started earlier with fewer modules imports the rest itself (in a
    fresh interpreter: a server replaced here would import torch and transformers again)."""
    done = subprocess.run([sys.executable, "-c", _FORK_SERVERS], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    replaced, kept_while_running, replaced_after = done.stdout.split("\n")[:3]
    assert replaced == "True"
    assert kept_while_running == "True False"  # the child's answer came back; the old server stayed
    assert replaced_after == "True"


_INTERRUPTED_WHILE_TWO_CHILDREN_RUN = """
import signal, sys, time
from bench.training.isolation import call_in_children, fork_server
from tests.child_functions import forkserver_children, sleep_then_pid

context = fork_server([])
results = call_in_children(context, [(sleep_then_pid, (60,), "a"), (sleep_then_pid, (60,), "b")], at_once=2)

def ctrl_c(*_):  # three seconds into the wait: both children run
    print(len(forkserver_children()), flush=True)
    raise KeyboardInterrupt

signal.signal(signal.SIGALRM, ctrl_c)
signal.setitimer(signal.ITIMER_REAL, 3)
try:
    next(results)
except KeyboardInterrupt:
    print(len(forkserver_children()))
"""


def test_an_interrupt_ends_every_running_child_before_it_propagates():
    done = subprocess.run([sys.executable, "-c", _INTERRUPTED_WHILE_TWO_CHILDREN_RUN], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["2", "0"], done.stderr


def test_two_cells_at_once_score_exactly_as_one_at_a_time_with_the_same_threads(tmp_path, tiny_model,
                                                                                 data_dir):
    setup = PluginSetup(())
    grid = tiny_grid(tiny_model, seeds=(1, 2))
    alone = run_tiny(grid, tmp_path / "alone", data_dir,
                     LocalExecutor(setup, WorkerSettings(threads=1), preload=WORKER_PRELOAD))
    together = run_tiny(grid, tmp_path / "together", data_dir,
                        LocalExecutor(setup, preload=WORKER_PRELOAD, jobs=2))
    by_cell = {record.cell_id: record for record in together}
    assert len(by_cell) == 2 and all(record.succeeded for record in alone + together)
    assert {cell: (r.score, r.dev_score) for cell, r in by_cell.items()} == {
        r.cell_id: (r.score, r.dev_score) for r in alone}
    assert {record.threads for record in together} == {max(1, len(os.sched_getaffinity(0)) // 2)}
    # its own sweep's cells, whatever other PETBench sweeps run on the machine meanwhile
    assert max(record.cells_of_sweep for record in together) == 2
    assert all(record.cells_on_machine >= record.cells_of_sweep for record in together)


def test_every_record_says_where_its_time_went_and_the_report_marks_cells_that_shared_the_machine(
        tmp_path, tiny_model, data_dir):
    spec = tiny_spec(tiny_model, data_dir, tmp_path, seeds="1,2", device="cpu", executor="local",
                     executor_options={"jobs": "2"}, train={"max_steps": "2", "max_length": "32"})
    assert run(spec).exit_code == 0
    for record in ResultsStore(tmp_path).load():
        phases = [record.seconds_start, record.seconds_load, record.seconds_encode, record.seconds_train,
                  record.seconds_dev, record.seconds_eval]
        assert all(seconds > 0 for seconds in phases) and sum(phases) <= record.wall_seconds, phases
        assert "torch:" in record.cpu
    report = (tmp_path / "report.md").read_text()
    assert "### Where the time went" in report and "| start-up s" in report
    assert "*: throughput of cells that shared the machine" in report


@pytest.mark.parametrize("jobs", ["0", "two", "-1"])
def test_jobs_must_be_a_positive_integer_or_auto(tmp_path, jobs):
    with pytest.raises(BenchError, match="--jobs"):
        run(RunSpec(executor_options={"jobs": jobs}, out=str(tmp_path)))


def test_an_eval_limit_scores_a_fixed_stratified_sample_and_the_report_says_so(tmp_path, tiny_model,
                                                                              data_dir):
    spec = tiny_spec(tiny_model, data_dir, tmp_path, seeds="1,2", device="cpu",
                     train={"max_steps": "2", "max_length": "32", "eval_limit": "10"})
    assert run(spec).exit_code == 0
    records = ResultsStore(tmp_path).load()
    assert [record.n_eval for record in records] == [10, 10]
    report = (tmp_path / "report.md").read_text()
    assert "Eval limited: full_ft on sst2 scored 10 eval examples only" in report


def test_an_eval_limit_below_the_label_count_is_refused_before_any_cell(tmp_path, tiny_model, data_dir):
    with pytest.raises(BenchError, match="--eval-limit 1 is fewer than the 2 labels"):
        run(RunSpec(model=str(tiny_model), data_dir=str(data_dir), train={"eval_limit": "1"},
                    out=str(tmp_path)))


def test_cells_side_by_side_draw_no_bars_of_their_own_and_a_cell_alone_shows_its_evaluations(
        capsys, tiny_model, data_dir):
    from bench.training.runner import run_job
    from bench.training.sweep import plan_jobs

    [job] = plan_jobs(tiny_grid(tiny_model), data_dir)
    try:
        assert run_job(job, WorkerSettings(progress_bars=False)).succeeded
        quiet = capsys.readouterr().err
        assert run_job(job, WorkerSettings()).succeeded
        shown = capsys.readouterr().err
    finally:
        from bench.core.progress import show_cell_bars

        show_cell_bars(True)
    assert not any(bar in quiet for bar in ("train:", "dev:", "eval:"))
    assert all(bar in shown for bar in ("train:", "dev:", "eval:"))
