"""Selection protocols end to end: a run's dev score is the mean over its folds, the best mean picks
the grid point, the run's eval score is the mean of the picked point's fold models, eval never takes
part; and shots are a grid axis from the cells to the report."""

import json
from dataclasses import replace

import pytest

from bench.core.records import CellResult, CellStatus
from bench.core.selection import SelectionProtocol
from bench.training.cells import SearchAxis
from bench.training.sweep import plan_jobs
from reports import write_reports
from reports.aggregate import cells_frame, fold_means, group_frame
from reports.search import search_section, selected_cells, selection_groups
from tests.helpers import run_tiny, tiny_grid


def _record(seed: int, lr: str, fold: int | None, dev: float, score: float, *,
            protocol: str = "cv:2", index: int = 0) -> CellResult:
    return CellResult(cell_id=f"{seed}/{lr}/{fold}", config_id=f"c{lr}", selection_id="s",
                      status=CellStatus.SUCCESS, task="sst2", task_version="1", language="en", method="lora",
                      method_config=json.dumps({"learning_rate": float(lr)}), model="m", seed=seed, shots=8,
                      split=None, zero_shot=False, metric="accuracy", search=json.dumps({"lr": lr}),
                      search_index=index, selection_protocol=protocol, fold=fold, dev_score=dev, score=score,
                      majority_score=0.5, train_config="{}", wall_seconds=1.0)


def test_selection_picks_the_best_mean_dev_over_folds_and_reports_the_mean_eval_of_its_models():
    # lr 1e-3 has the best single fold on dev (0.9) but the worse mean (0.6 < 0.7); eval favours it
    records = [_record(1, "1e-3", 0, 0.9, 0.95), _record(1, "1e-3", 1, 0.3, 0.95),
               _record(1, "1e-2", 0, 0.7, 0.60, index=1), _record(1, "1e-2", 1, 0.7, 0.70, index=1)]
    [pick] = selected_cells(cells_frame(records)).itertuples()
    assert pick.search == '{"lr": "1e-2"}' and pick.folds == 2
    assert pick.dev_score == pytest.approx(0.7) and pick.score == pytest.approx(0.65)
    assert pick.wall_seconds == 2.0  # a run costs its folds together
    [row] = selection_groups(cells_frame(records)).itertuples()
    assert row.method_label == "lora (selected by cv:2 over lr)" and row.runs == 1
    assert "| 2 " in "\n".join(search_section(cells_frame(records)))  # two settings tried, not four cells


def test_a_run_missing_a_fold_takes_no_part():
    records = [_record(1, "1e-3", 0, 0.9, 0.9), _record(1, "1e-2", 0, 0.5, 0.5, index=1),
               _record(1, "1e-2", 1, 0.5, 0.5, index=1)]  # 1e-3's fold 1 failed or is still running
    [pick] = selected_cells(cells_frame(records)).itertuples()
    assert pick.search == '{"lr": "1e-2"}'


def test_a_folded_configuration_outside_a_search_counts_each_run_once():
    records = [replace(_record(seed, "1e-3", fold, 0.5, score), search="")
               for seed, fold, score in ((1, 0, 0.6), (1, 1, 0.8), (2, 0, 0.5), (2, 1, 0.5))]
    [row] = group_frame(cells_frame(records)).itertuples()
    assert row.runs == 2 and row.score_mean == pytest.approx(0.6) and row.folds == 2
    assert len(fold_means(cells_frame(records[:2]))) == 1


def test_check_counts_a_folded_run_once_as_the_mean_of_its_folds():
    from reports.runs import one_per_run

    records = [replace(_record(seed, "1e-3", fold, 0.5, score), search="", cell_id=f"{seed}/{fold}")
               for seed, fold, score in ((1, 0, 0.6), (1, 1, 0.8), (2, 0, 0.5), (2, 1, 0.5))]
    runs = one_per_run(cells_frame(records)).frame
    assert sorted(runs["seed"]) == ["1", "2"] and not one_per_run(cells_frame(records)).notes
    assert dict(zip(runs["seed"], runs["score"], strict=True)) == pytest.approx({"1": 0.7, "2": 0.5})


def _no_eval_in_training(jobs) -> None:
    for job in jobs:
        eval_texts = {example.texts for example in job.splits.eval}
        assert not eval_texts & {example.texts for example in (*job.splits.train, *job.splits.dev)}


def test_a_cross_validated_search_runs_end_to_end_and_the_report_shows_the_protocol(tmp_path, tiny_model,
                                                                                   data_dir):
    grid = replace(tiny_grid(tiny_model, methods=("lora", "prompt_tuning")),
                   search=(SearchAxis("lr", ("1e-4", "1e-2")),), selection=SelectionProtocol.parse("cv:2"))
    jobs = plan_jobs(grid, data_dir)
    assert len(jobs) == 2 * 2 * 2 and {job.cell.fold for job in jobs} == {0, 1}
    _no_eval_in_training(jobs)
    records = run_tiny(grid, tmp_path, data_dir)
    assert all(record.succeeded for record in records), [record.error for record in records]
    # the pool: 8 sampled train + 8 held-out dev examples, cut in two folds of 8
    assert {(r.selection_protocol, r.n_train, r.n_dev) for r in records} == {("cv:2", 8, 8)}
    markdown = write_reports(tmp_path, figures=False)
    assert all(f"{method} (selected by cv:2 over lr)" in markdown for method in ("lora", "prompt_tuning"))
    groups = selection_groups(cells_frame(records))
    assert list(groups["runs"]) == [1, 1] and list(groups["folds"]) == [2, 2]


def test_none_trains_once_on_the_whole_pool_keeps_the_last_step_and_records_no_dev_score(tmp_path, tiny_model,
                                                                                        data_dir):
    grid = replace(tiny_grid(tiny_model), selection=SelectionProtocol.parse("none"))
    [record] = run_tiny(grid, tmp_path, data_dir)
    assert record.succeeded, record.error
    assert (record.n_train, record.n_dev, record.dev_score, record.fold) == (16, 0, None, None)
    assert record.best_step == record.steps == 2 and record.selection_protocol == "none"


def test_shots_run_as_one_grid_and_the_report_has_a_section_per_shot_count(tmp_path, tiny_model, data_dir):
    records = run_tiny(tiny_grid(tiny_model, shots="8,16"), tmp_path, data_dir)
    assert sorted(record.n_train for record in records) == [8, 16] and all(r.succeeded for r in records)
    markdown = write_reports(tmp_path, figures=False)
    assert "shots=8" in markdown and "shots=16" in markdown
