"""Cells on a local Ray cluster (2 CPUs) started by the tests: the same scores as in-process, resume
after the driver is killed, and a worker killed mid-cell recorded as failed (then retried)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.core.method import METHODS
from bench.core.store import ResultsStore
from bench.session.plugins import PluginSetup
from bench.training.executors import InlineExecutor
from bench.training.runner import WorkerSettings
from tests.helpers import run_tiny, tiny_grid

ray = pytest.importorskip("ray")
ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow  # a Ray cluster and a process per cell: minutes on 2 cores


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


def test_a_grid_on_ray_scores_as_in_process(cluster, tmp_path, tiny_model, data_dir):
    from bench.training.ray_executor import RayExecutor

    grid = tiny_grid(tiny_model, methods=("full_ft", "lora"), seeds=(1, 2))
    on_ray = run_tiny(grid, tmp_path / "ray", data_dir, RayExecutor(PluginSetup()))
    inline = InlineExecutor(WorkerSettings(threads=1))
    in_process = run_tiny(grid, tmp_path / "inline", data_dir, inline)
    assert all(record.succeeded for record in on_ray), [record.error for record in on_ray]
    by_cell = {record.cell_id: record.score for record in in_process}
    assert {record.cell_id: record.score for record in on_ray} == by_cell
    assert {record.threads for record in on_ray} == {1}
    # the cluster has 2 CPUs and a cell takes 1: at most two of this sweep's cells run at once
    assert {record.cells_of_sweep for record in on_ray} <= {1, 2}


KILLER = """
import os, signal
from pathlib import Path
from bench.core.method import GradientConfig, register_method

@register_method("planted_worker_kill", config=GradientConfig)
def build(config, *, model, task, max_length):
    attempts = Path({counter!r})
    attempts.write_text(attempts.read_text() + "x" if attempts.exists() else "x")
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_worker_killed_mid_cell_is_a_failed_record_after_its_retries(cluster, tmp_path, tiny_model,
                                                                      data_dir):
    from bench.training.ray_executor import RayExecutor

    plugin = tmp_path / "killer.py"
    plugin.write_text(KILLER.format(counter=str(tmp_path / "attempts")), encoding="utf-8")
    setup = PluginSetup((str(plugin),))
    setup()
    try:
        grid = tiny_grid(tiny_model, methods=("planted_worker_kill", "full_ft"))
        records = run_tiny(grid, tmp_path / "out", data_dir, RayExecutor(setup, retries=1))
    finally:
        METHODS.remove("planted_worker_kill")
    by_method = {record.method: record for record in records}
    assert by_method["full_ft"].succeeded
    killed = by_method["planted_worker_kill"]
    assert not killed.succeeded and killed.error.startswith("worker died after 2 attempts")
    assert (tmp_path / "attempts").read_text() == "xx"


def test_a_ray_sweep_whose_driver_is_killed_resumes_losing_nothing_written(tmp_path, tiny_model, data_dir):
    command = [sys.executable, "run_bench.py", "--executor", "ray", "--model", str(tiny_model),
               "--data-dir", str(data_dir), "--methods", "full_ft", "--seeds", "1,2,3", "--shots", "8",
               "--epochs", "20", "--batch-size", "4", "--max-length", "32", "--device", "cpu",
               "--out", str(tmp_path)]
    environment = {**os.environ, "RAY_ADDRESS": ""}
    process = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    results, deadline = tmp_path / "results.jsonl", time.time() + 300
    while not results.exists() and time.time() < deadline and process.poll() is None:
        time.sleep(0.5)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    written = results.read_text().splitlines()
    assert 1 <= len(written) < 3 and all(json.loads(line)["status"] == "success" for line in written)
    finished = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, timeout=600)
    assert finished.returncode == 0, finished.stderr[-2000:]
    assert sorted(record.seed for record in ResultsStore(tmp_path).load()) == [1, 2, 3]
    assert results.read_text().splitlines()[: len(written)] == written


def test_an_unreachable_ray_address_is_a_one_line_error_within_seconds(tmp_path, tiny_model, data_dir):
    from bench.core.errors import BenchError
    from bench.session import RunSpec, run

    started = time.time()
    spec = RunSpec(executor="ray", executor_options={"ray_address": "127.0.0.1:1"}, model=str(tiny_model),
                   data_dir=str(data_dir), methods="full_ft", shots="8", train={"max_steps": "1"},
                   out=str(tmp_path))
    with pytest.raises(BenchError, match="cannot reach the Ray cluster at 127.0.0.1:1") as raised:
        run(spec)
    assert "\n" not in str(raised.value) and time.time() - started < 60


def test_the_address_check_lets_a_real_ray_gcs_through(cluster):
    from bench.training.ray_executor import _check_reachable

    _check_reachable(ray.get_runtime_context().gcs_address)  # its gRPC handshake: no error
