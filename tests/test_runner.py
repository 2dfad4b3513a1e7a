"""The grid runner end to end on the tiny model: records, reports, resume and failures."""

import json

import pandas as pd

from bench.device import choose_device
from bench.results import ResultsStore
from bench.runner import expand_cells, run_grid
from methods.spec import MethodConfig, MethodSpec
from reports import write_reports
from tests.helpers import tiny_grid

CPU = choose_device("cpu")


def test_two_by_two_grid_writes_results_csv_and_report(tmp_path, tiny_model, data_dir):
    grid = tiny_grid(tiny_model, data_dir, tasks=("sst2", "eprstmt"), methods=("full_ft", "hard_prompt"))
    records = run_grid(grid, ResultsStore(tmp_path), CPU)
    assert [r.status for r in records] == ["success"] * 4, [r.error for r in records]
    for record in records:
        assert 0.0 <= record.score <= 1.0 and record.train_samples_per_s > 0
        assert record.eval_samples_per_s > 0 and record.peak_memory_bytes >= 0
        assert 0 < record.trainable_params <= record.total_params
        assert record.n_train == 8 and "torch=" in record.versions
    markdown = write_reports(tmp_path)
    lines = (tmp_path / "results.jsonl").read_text().splitlines()
    assert len(lines) == 4 and all(json.loads(line)["status"] == "success" for line in lines)
    assert len(pd.read_csv(tmp_path / "results.csv")) == 4
    assert "| full_ft" in markdown and "sst2 (accuracy)" in markdown and "eprstmt (accuracy)" in markdown
    assert (tmp_path / "report.md").read_text() == markdown


def test_running_the_same_grid_again_skips_cells_already_done(tmp_path, tiny_model, data_dir):
    grid = tiny_grid(tiny_model, data_dir, seeds=(1, 2))
    assert len(run_grid(grid, ResultsStore(tmp_path), CPU)) == 2
    assert run_grid(grid, ResultsStore(tmp_path), CPU) == []
    bigger = tiny_grid(tiny_model, data_dir, seeds=(1, 2, 3))
    assert [r.seed for r in run_grid(bigger, ResultsStore(tmp_path), CPU)] == [3]


def _broken_build(config, *, model, task, max_length):
    raise RuntimeError("CUDA out of memory (planted)")


BROKEN = MethodSpec("broken", MethodConfig, _broken_build, "always fails")


def test_a_failing_cell_is_recorded_and_the_sweep_goes_on(tmp_path, tiny_model, data_dir):
    grid = tiny_grid(tiny_model, data_dir, methods=("full_ft",), extra_methods=(BROKEN,))
    records = run_grid(grid, ResultsStore(tmp_path), CPU)
    assert [(r.method, r.status) for r in records] == [("full_ft", "success"), ("broken", "failed")]
    assert records[1].error == "RuntimeError: CUDA out of memory (planted)"
    assert "Failed cells" in write_reports(tmp_path)
    # a re-run retries the failed cell only
    assert [r.method for r in run_grid(grid, ResultsStore(tmp_path), CPU)] == ["broken"]


def test_cell_ids_are_stable_and_distinguish_every_axis(tiny_model, data_dir):
    grid = tiny_grid(tiny_model, data_dir, tasks=("sst2", "eprstmt"), methods=("full_ft", "hard_prompt"),
                     seeds=(1, 2))
    ids = [cell.cell_id for cell in expand_cells(grid)]
    assert len(set(ids)) == 8
    assert ids == [cell.cell_id for cell in expand_cells(grid)]


def test_zero_shot_cells_train_nothing_and_are_labelled_in_the_report(tmp_path, tiny_model, data_dir):
    import dataclasses

    grid = tiny_grid(tiny_model, data_dir, methods=("hard_prompt",))
    grid = dataclasses.replace(grid, train=dataclasses.replace(grid.train, zero_shot=True, max_steps=None))
    [record] = run_grid(grid, ResultsStore(tmp_path), CPU)
    assert record.status == "success" and record.zero_shot and record.steps == 0
    assert record.train_samples_per_s is None and record.eval_samples_per_s > 0
    assert "hard_prompt (zero-shot)" in write_reports(tmp_path)
