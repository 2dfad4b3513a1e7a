"""The grid runner end to end on the tiny model: records, reports, resume and failures."""

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from bench.core.method import METHODS, GradientConfig, register_method
from bench.core.records import CellStatus
from bench.training.cells import expand_cells
from bench.training.executors import LocalExecutor
from bench.training.loop import TrainConfig
from reports import write_reports
from tests.helpers import FAST_TRAINING, run_tiny, tiny_grid, tiny_spec

ROOT = Path(__file__).resolve().parent.parent


def test_two_by_two_grid_writes_results_csv_and_report(tmp_path, tiny_model, data_dir):
    grid = tiny_grid(tiny_model, tasks=("sst2", "eprstmt"), methods=("full_ft", "hard_prompt"))
    records = run_tiny(grid, tmp_path, data_dir)
    assert [r.status for r in records] == [CellStatus.SUCCESS] * 4, [r.error for r in records]
    for record in records:
        assert 0.0 <= record.score <= 1.0 and record.train_samples_per_s > 0
        assert record.eval_samples_per_s > 0 and record.peak_memory_bytes >= 0
        assert 0 < record.trainable_params <= record.total_params
        assert "torch=" in record.versions and record.data_fingerprint and record.model_fingerprint
    assert {r.n_train for r in records if r.task == "sst2"} == {8}
    assert {r.split for r in records} == {None, "0"}  # eprstmt ran its default official split
    markdown = write_reports(tmp_path)
    lines = (tmp_path / "results.jsonl").read_text().splitlines()
    assert len(lines) == 4 and all(json.loads(line)["status"] == "success" for line in lines)
    assert len(pd.read_csv(tmp_path / "results.csv")) == 4
    assert "| full_ft" in markdown and "sst2 (accuracy)" in markdown and "eprstmt (accuracy)" in markdown
    assert (tmp_path / "report.md").read_text() == markdown


def test_a_record_stores_the_configuration_that_actually_ran(tmp_path, tiny_model, data_dir):
    grid = tiny_grid(tiny_model, methods=("lora",))
    grid = replace(grid, methods=(replace(grid.methods[0], knobs=tuple(
        (name, 3 if name == "epochs" else value) for name, value in grid.methods[0].knobs)),))
    [record] = run_tiny(grid, tmp_path, data_dir)
    config = json.loads(record.method_config)
    assert config["epochs"] == 3 == record.epochs and config["learning_rate"] == record.learning_rate
    assert json.loads(record.train_config)["max_steps"] == 2 and record.steps == 2


def test_running_the_same_grid_again_skips_cells_already_done(tmp_path, tiny_model, data_dir):
    grid = tiny_grid(tiny_model, seeds=(1, 2))
    assert len(run_tiny(grid, tmp_path, data_dir)) == 2
    assert run_tiny(grid, tmp_path, data_dir) == []
    assert [r.seed for r in run_tiny(tiny_grid(tiny_model, seeds=(1, 2, 3)), tmp_path, data_dir)] == [3]


def test_other_settings_are_a_new_cell_not_a_repeat(tmp_path, tiny_model, data_dir):
    run_tiny(tiny_grid(tiny_model), tmp_path, data_dir)
    longer = tiny_grid(tiny_model, train=replace(tiny_grid(tiny_model).train, max_steps=3))
    [record] = run_tiny(longer, tmp_path, data_dir)
    assert record.steps == 3


def _broken_build(config, *, model, task, max_length):
    raise RuntimeError("CUDA out of memory (planted)")


@pytest.fixture
def planted_failure():
    register_method("planted_failure", config=GradientConfig)(_broken_build)
    yield "planted_failure"
    METHODS.remove("planted_failure")


def test_a_failing_cell_is_recorded_and_the_sweep_goes_on(tmp_path, tiny_model, data_dir, planted_failure):
    grid = tiny_grid(tiny_model, methods=("full_ft", "planted_failure"))
    records = run_tiny(grid, tmp_path, data_dir)
    assert [(r.method, r.status) for r in records] == [("full_ft", "success"), ("planted_failure", "failed")]
    assert records[1].error == "RuntimeError: CUDA out of memory (planted)"
    assert "Failed cells" in write_reports(tmp_path)
    # a re-run retries the failed cell only
    assert [r.method for r in run_tiny(grid, tmp_path, data_dir)] == ["planted_failure"]


@pytest.fixture
def fp32_only_method():
    from methods.full_ft import FullFTConfig, build_full_ft

    register_method("fp32_only_full_ft", config=FullFTConfig, fp32_only=True)(build_full_ft)
    yield "fp32_only_full_ft"
    METHODS.remove("fp32_only_full_ft")


def test_a_method_that_runs_only_in_fp32_is_planned_and_recorded_as_fp32_under_bf16(
        tmp_path, tiny_model, data_dir, fp32_only_method):
    from bench.core.device import Runtime

    grid = tiny_grid(tiny_model, methods=("full_ft", fp32_only_method), runtime=Runtime("cpu", "bf16"))
    assert {(cell.method, cell.runtime.dtype) for cell in expand_cells(grid)} == {
        ("full_ft", "bf16"), (fp32_only_method, "fp32")}
    records = run_tiny(grid, tmp_path, data_dir)
    assert {(r.method, r.status, r.dtype) for r in records} == {
        ("full_ft", "success", "bfloat16"), (fp32_only_method, "success", "fp32")}


def test_precision_and_device_are_part_of_a_cells_identity_and_neutral_switches_are_not(tiny_model):
    from bench.core.device import Runtime
    from bench.core.knobs import identity_fields

    def ids(grid):
        cell = expand_cells(grid)[0]
        return cell.cell_id(data_fingerprint="d", versions="v"), cell.config_id, cell.selection_id

    fp32 = ids(tiny_grid(tiny_model, runtime=Runtime("cpu", "fp32")))
    bf16 = ids(tiny_grid(tiny_model, runtime=Runtime("cpu", "bf16")))
    cuda = ids(tiny_grid(tiny_model, runtime=Runtime("cuda", "bf16")))
    assert len({fp32[0], bf16[0], cuda[0]}) == 3 and len({fp32[1], bf16[1], cuda[1]}) == 3
    assert len({fp32[2], bf16[2], cuda[2]}) == 3
    # only reading the loss is neutral (tests/test_identity.py trains both ways with dropout on);
    # a kernel's rounding, dropout's draws over parts or padding move numbers: those are the cell's
    assert identity_fields(TrainConfig, identity=False) == ["log_every"]
    assert ids(tiny_grid(tiny_model, train=replace(FAST_TRAINING, log_every=1))) == fp32
    for moving in (dict(fused_optimizer=False), dict(compile="on"), dict(pad_to_multiple_of=8),
                   dict(micro_batches=1), dict(batch_size=8)):
        changed = ids(tiny_grid(tiny_model, train=replace(FAST_TRAINING, **moving)))
        assert changed[0] != fp32[0] and changed[1] != fp32[1], moving
    # a device's default written out is the same run: on a CPU 2 parts, no padding multiple, no compile
    written_out = replace(FAST_TRAINING, micro_batches=2, pad_to_multiple_of=1, compile="off")
    assert ids(tiny_grid(tiny_model, train=written_out)) == fp32


def test_cell_ids_distinguish_every_axis(tiny_model):
    grid = tiny_grid(tiny_model, tasks=("sst2", "eprstmt"), methods=("full_ft", "hard_prompt"), seeds=(1, 2))
    ids = [cell.cell_id(data_fingerprint="d", versions="v") for cell in expand_cells(grid)]
    assert len(set(ids)) == 8
    cell = expand_cells(grid)[0]
    reference = cell.cell_id(data_fingerprint="d", versions="v")
    assert reference != cell.cell_id(data_fingerprint="e", versions="v")
    assert reference != cell.cell_id(data_fingerprint="d", versions="w")


CELL_IDS = """
from bench.session.plugins import load_builtins
from bench.training.cells import expand_cells
from tests.helpers import tiny_grid
load_builtins()
grid = tiny_grid({model!r}, tasks=("sst2", "eprstmt"), methods=("full_ft", "lora"), seeds=(1, 2))
print(" ".join(cell.cell_id(data_fingerprint="d", versions="v") for cell in expand_cells(grid)))
"""


def test_cell_ids_are_the_same_in_another_process_with_another_hash_seed(tiny_model):
    def ids(hash_seed: str) -> subprocess.Popen:
        environment = {**os.environ, "PYTHONHASHSEED": hash_seed}
        return subprocess.Popen([sys.executable, "-c", CELL_IDS.format(model=str(tiny_model))], cwd=ROOT,
                                env=environment, stdout=subprocess.PIPE, text=True)

    first, second = [process.communicate(timeout=120)[0] for process in (ids("1"), ids("2"))]  # side by side
    assert first == second and len(set(first.split())) == 8


def test_zero_shot_cells_train_nothing_and_are_labelled_in_the_report(tmp_path, tiny_model, data_dir):
    grid = tiny_grid(tiny_model, methods=("hard_prompt",))
    grid = replace(grid, train=replace(grid.train, zero_shot=True, max_steps=None))
    [record] = run_tiny(grid, tmp_path, data_dir)
    assert record.succeeded and record.zero_shot and record.steps == 0
    assert record.train_samples_per_s is None and record.eval_samples_per_s > 0
    assert "hard_prompt (zero-shot)" in write_reports(tmp_path)


def test_the_local_executor_runs_each_cell_in_its_own_process(tmp_path, tiny_model, data_dir):
    from bench.session.plugins import WORKER_PRELOAD, PluginSetup

    grid = tiny_grid(tiny_model, methods=("full_ft", "lora"))
    records = run_tiny(grid, tmp_path, data_dir, LocalExecutor(PluginSetup(), preload=WORKER_PRELOAD))
    assert [r.status for r in records] == ["success", "success"], [r.error for r in records]
    inline = run_tiny(grid, tmp_path / "inline", data_dir)
    assert [r.score for r in records] == [r.score for r in inline]


def test_only_trained_states_compete_and_a_cell_that_never_beats_its_start_is_flagged(capsys, tmp_path,
                                                                                     tiny_model, data_dir):
    """A learning rate too small to move anything: every epoch end ties with the untrained start. The
    kept state is the first epoch end's, never the start, and results, report and check say so."""
    from bench.cli.main import main
    from bench.session import run

    spec = tiny_spec(tiny_model, data_dir, tmp_path, epochs="2", lr="1e-12",
                     train={"max_steps": None, "max_length": None})
    assert run(spec).exit_code == 0
    [record] = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    assert record["best_step"] == 2 and record["steps"] == 4
    assert record["never_beat_start"] and record["dev_score"] == record["untrained_dev_score"]
    assert "never scored above their untrained start" in (tmp_path / "report.md").read_text()
    assert "never_beat_start" in pd.read_csv(tmp_path / "results.csv").columns
    capsys.readouterr()
    assert main(["check", str(tmp_path), "--baseline", str(tmp_path / "results.csv")]) == 0
    assert "flagged: 1 cell(s) of the run never scored above their untrained start" in capsys.readouterr().out
