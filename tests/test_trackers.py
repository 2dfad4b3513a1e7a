"""Result sinks (--log-to): every cell of a sweep becomes one tracked run in MLflow's file store and
in an offline Weights & Biases run, read back from the files the real libraries wrote; a plugin adds
its own sink; bad names and missing libraries fail before a cell trains; a failing sink costs a
warning, never a record."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from bench.core.errors import BenchError
from bench.core.records import CellResult, CellStatus
from bench.core.sinks import SINKS, SinkContext
from bench.core.store import ResultsStore
from bench.session import RunResult, run
from reports.sinks import tracked_run
from tests.helpers import tiny_spec

PLUGIN = '''
from pathlib import Path
from bench.core.sinks import register_sink

@register_sink("{name}"{requires})
class Lines:
    def __init__(self, context):
        self.path = context.out_dir / "{name}.txt"
    def start(self, cells):
        pass
    def record(self, record):
        {body}
    def close(self):
        pass
'''


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No network and nothing written outside tmp_path, whatever the machine's settings."""
    for name in ("MLFLOW_TRACKING_URI", "WANDB_PROJECT", "WANDB_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WANDB_MODE", "offline")
    for name in ("WANDB_CONFIG_DIR", "WANDB_CACHE_DIR", "WANDB_DATA_DIR"):
        monkeypatch.setenv(name, str(tmp_path / "wandb-home"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture
def plugin_file(tmp_path):
    """Write a plugin registering a logger; forget it afterwards."""
    written: list[str] = []

    def write(name: str, body: str, requires: str = "") -> Path:
        path = tmp_path / f"{name}_plugin.py"
        path.write_text(PLUGIN.format(name=name, body=body, requires=requires))
        written.append(name)
        return path

    yield write
    for name in written:
        if name in SINKS:
            SINKS.remove(name)
    for module in [module for module in sys.modules if module.startswith("petbench_plugin_")]:
        del sys.modules[module]


def sweep(tmp_path: Path, tiny_model: Path, data_dir: Path, **fields) -> RunResult:
    return run(tiny_spec(tiny_model, data_dir, tmp_path / "out", seeds="1,2", **fields))


def test_mlflow_and_offline_wandb_each_get_one_run_per_cell(tmp_path, tiny_model, data_dir, offline):
    assert sweep(tmp_path, tiny_model, data_dir, log_to="mlflow,wandb").exit_code == 0
    records = {record.cell_id: record for record in ResultsStore(tmp_path / "out").latest()}
    assert len(records) == 2
    mlflow_runs = read_mlflow(tmp_path / "out" / "mlruns")
    assert set(mlflow_runs) == set(records)
    wandb_runs = read_wandb(tmp_path / "out" / "wandb")
    assert set(wandb_runs) == set(records)
    for cell_id, record in records.items():
        params, metrics, tags = mlflow_runs[cell_id]
        assert params["method"] == "full_ft" and params["seed"] == str(record.seed)
        assert params["train.max_steps"] == "1"
        assert metrics["score"] == pytest.approx(record.score)
        assert tags["config_id"] == record.config_id and tags["sweep"] == "out"
        group, config, summary = wandb_runs[cell_id]
        assert group == "out" and config["seed"] == str(record.seed)
        assert summary["score"] == pytest.approx(record.score) and summary["id.cell_id"] == cell_id


def read_mlflow(store: Path) -> dict[str, tuple[dict, dict, dict]]:
    from mlflow import MlflowClient

    client = MlflowClient(store.as_uri())
    experiment = client.get_experiment_by_name("petbench-out")
    runs = client.search_runs([experiment.experiment_id])
    assert all(run.info.status == "FINISHED" for run in runs)
    return {run.info.run_name: (run.data.params, run.data.metrics, run.data.tags) for run in runs}


def read_wandb(folder: Path) -> dict[str, tuple[str, dict, dict]]:
    """Each offline run's group, config and summary, decoded from its .wandb transaction log."""
    runs = {}
    for path in folder.glob("offline-run-*/run-*.wandb"):
        name, group, config, summary = "", "", {}, {}
        for record in wandb_log_records(path):
            kind = record.WhichOneof("record_type")
            if kind == "run":
                name, group = record.run.display_name, record.run.run_group
                config.update(decoded(record.run.config.update))
            elif kind == "config":
                config.update(decoded(record.config.update))
            elif kind == "summary":
                summary.update(decoded(record.summary.update))
        runs[name] = (group, config, summary)
    return runs


def decoded(items) -> dict:
    return {item.key or "/".join(item.nested_key): json.loads(item.value_json) for item in items}


def wandb_log_records(path: Path):
    """The protobuf records of a .wandb file: a 7-byte file header, then LevelDB-style log chunks
    (crc32, little-endian length, type) in 32 KiB blocks; types 1 full, 2 first, 3 middle, 4 last."""
    from wandb.proto.wandb_internal_pb2 import Record

    data, position, pending, block = path.read_bytes(), 7, b"", 32768
    while position + 7 <= len(data):
        left = block - position % block
        length, kind = int.from_bytes(data[position + 4:position + 6], "little"), data[position + 6]
        if left < 7 or (length == 0 and kind == 0):  # the block's zero padding
            position += left
            continue
        pending += data[position + 7:position + 7 + length]
        position += 7 + length
        if kind in (1, 4):
            yield Record.FromString(pending)
            pending = b""


def test_a_plugin_registers_a_logger_by_decorator(tmp_path, tiny_model, data_dir, offline, plugin_file):
    plugin = plugin_file("lines", "self.path.open('a').write(record.cell_id + '\\n')")
    assert sweep(tmp_path, tiny_model, data_dir, plugins=str(plugin), log_to="lines").exit_code == 0
    logged = (tmp_path / "out" / "lines.txt").read_text().split()
    assert sorted(logged) == sorted(record.cell_id for record in ResultsStore(tmp_path / "out").latest())


def test_a_failing_logger_warns_once_per_cell_and_loses_no_record(capsys, tmp_path, tiny_model, data_dir,
                                                                  offline, plugin_file):
    plugin = plugin_file("broken", "raise RuntimeError('tracker down')")
    assert sweep(tmp_path, tiny_model, data_dir, plugins=str(plugin), log_to="broken").exit_code == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if "warning:" in line]
    assert len(warnings) == 2 and all("--log-to broken failed" in line and "tracker down" in line
                                      for line in warnings)
    assert len(ResultsStore(tmp_path / "out").latest()) == 2


@pytest.mark.parametrize(("value", "expected"), [
    ("nope", "unknown result sink 'nope': known result sinks: mlflow, report, wandb"),
    ("mlfow", "did you mean 'mlflow'?"),
])
def test_an_unknown_logger_fails_in_one_line_before_any_cell(tmp_path, tiny_model, data_dir, value, expected):
    with pytest.raises(BenchError, match=re.escape(expected)) as raised:
        sweep(tmp_path, tiny_model, data_dir, log_to=value)
    assert "\n" not in str(raised.value)
    assert not (tmp_path / "out").exists()


def test_a_logger_whose_library_is_missing_names_the_extra(tmp_path, tiny_model, data_dir, plugin_file):
    plugin = plugin_file("absent", "pass", requires=', requires="no_such_tracker_lib", extra="absent"')
    needs = "--log-to absent needs no_such_tracker_lib: pip install 'petbench[absent]'"
    with pytest.raises(BenchError, match=re.escape(needs)):
        sweep(tmp_path, tiny_model, data_dir, plugins=str(plugin), log_to="absent")
    assert not (tmp_path / "out").exists()


def test_mlflow_writes_under_the_out_folder_unless_a_tracking_uri_is_set(monkeypatch, tmp_path):
    from reports.sinks.mlflow import tracking_uri

    context = SinkContext.for_out(tmp_path / "out")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert tracking_uri(context) == (tmp_path / "out" / "mlruns").resolve().as_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://tracking.example:5000")
    assert tracking_uri(context) == "http://tracking.example:5000"


def test_a_failed_cell_is_a_run_with_its_error_and_without_the_figures_it_never_measured(tmp_path):
    failed = CellResult(cell_id="sst2/lora/seed=1/ab", config_id="k", status=CellStatus.FAILED, task="sst2",
                        task_version="1", language="en", method="lora", method_config='{"rank": 8}',
                        model="m", seed=1, shots=8, split=None, zero_shot=False, metric="accuracy",
                        train_config='{"batch_size": 4}', error="RuntimeError: boom")
    run = tracked_run(failed, SinkContext.for_out(tmp_path / "sweep"))
    assert not run.succeeded and run.name == failed.cell_id
    assert run.tags == {"cell_id": failed.cell_id, "config_id": "k", "selection_id": "", "status": "failed",
                        "sweep": "sweep", "error": "RuntimeError: boom"}
    assert run.params["method.rank"] == "8" and run.params["train.batch_size"] == "4"
    assert "split" not in run.params and "score" not in run.metrics and run.metrics["n_eval"] == 0
