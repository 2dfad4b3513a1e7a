"""Model selection over a --search grid: cells for every setting, per seed the best dev score picks
the setting, the eval scores of the picks make the row, and eval never takes part in the choice."""

import json
from dataclasses import replace

from bench.core.records import CellResult, CellStatus
from bench.session import run
from bench.training.cells import SearchAxis, expand_cells
from reports.aggregate import cells_frame
from reports.search import search_section, selected_cells, selection_groups
from tests.helpers import tiny_grid, tiny_spec


def test_the_grid_expands_each_method_over_the_axes_that_apply_to_it(tiny_model):
    grid = replace(tiny_grid(tiny_model, methods=("full_ft", "lora", "linear_probe"), seeds=(1, 2)),
                   search=(SearchAxis("lr", ("1e-3", "1e-2")), SearchAxis("lora.rank", ("4", "8"))))
    cells = expand_cells(grid)
    names = ("full_ft", "lora", "linear_probe")
    per_method = {name: [cell for cell in cells if cell.method == name] for name in names}
    assert [len(per_method[name]) for name in names] == [4, 8, 2]  # the probe has no lr knob
    lora = per_method["lora"]
    assert len({cell.config_id for cell in lora}) == 4 and len({cell.selection_id for cell in lora}) == 1
    assert {dict(cell.knobs)["rank"] for cell in lora} == {4, 8}
    assert {dict(cell.search)["lr"] for cell in lora} == {"1e-3", "1e-2"}


def _record(seed: int, lr: str, dev: float, score: float) -> CellResult:
    return CellResult(cell_id=f"{seed}/{lr}", config_id=f"c{lr}", selection_id="s", status=CellStatus.SUCCESS,
                      task="sst2", task_version="1", language="en", method="lora",
                      method_config=json.dumps({"learning_rate": float(lr)}), model="m", seed=seed, shots=100,
                      split=None, zero_shot=False, metric="accuracy", search=json.dumps({"lr": lr}),
                      dev_score=dev, score=score, majority_score=0.5, train_config="{}")


def test_selection_takes_the_best_dev_setting_per_seed_and_ignores_eval():
    # seed 1: lr 1e-3 wins on dev although 1e-2 is better on eval; seed 2: a dev tie goes to the first
    records = [_record(1, "1e-3", 0.80, 0.70), _record(1, "1e-2", 0.70, 0.90),
               _record(2, "1e-3", 0.75, 0.72), _record(2, "1e-2", 0.75, 0.95)]
    cells = cells_frame(records)
    chosen = selected_cells(cells)
    picks = sorted(zip(chosen["seed"], chosen["search"], strict=True))
    assert picks == [(1, '{"lr": "1e-3"}'), (2, '{"lr": "1e-3"}')]
    [row] = selection_groups(cells).itertuples()
    assert row.method_label == "lora (selected on dev over lr)" and row.runs == 2
    assert abs(row.score_mean - 0.71) < 1e-9
    section = "\n".join(search_section(cells))
    assert "## Search" in section and "lr=1e-3" in section and "| 2 " in section


def test_a_search_runs_and_the_report_shows_the_selection(tmp_path, tiny_model, data_dir):
    result = run(tiny_spec(tiny_model, data_dir, tmp_path, seeds="1,2", search="lr=1e-4,1e-2",
                           train={"max_steps": "2", "max_length": None}))
    assert result.exit_code == 0, result.summary
    report = (tmp_path / "report.md").read_text()
    assert "full_ft (selected on dev over lr)" in report and "## Search" in report
    assert len((tmp_path / "results.jsonl").read_text().splitlines()) == 4  # the whole grid is kept


def test_a_dev_tie_goes_to_the_first_grid_point_whatever_order_the_records_arrived_in():
    late_first = [replace(_record(1, "1e-2", 0.75, 0.95), search_index=1),
                  replace(_record(1, "1e-3", 0.75, 0.72), search_index=0)]
    [pick] = selected_cells(cells_frame(late_first)).itertuples()
    assert pick.search == '{"lr": "1e-3"}'


def test_two_search_values_that_are_the_same_setting_are_refused(tiny_model):
    import pytest

    from bench.core.errors import BenchError

    grid = replace(tiny_grid(tiny_model), search=(SearchAxis("lr", ("1e-3", "0.001")),))
    with pytest.raises(BenchError, match="lr=0.001 is the same setting as lr=1e-3"):
        expand_cells(grid)


def test_a_cell_done_before_the_search_takes_part_in_its_selection(tmp_path, tiny_model, data_dir):
    spec = tiny_spec(tiny_model, data_dir, tmp_path, train={"max_steps": "2", "max_length": None})
    assert run(spec.replace(lr="1e-4")).exit_code == 0
    assert run(spec.replace(search="lr=1e-4,1e-2")).exit_code == 0
    section = (tmp_path / "report.md").read_text().split("## Search", 1)[1]
    row = next(line for line in section.splitlines() if line.startswith("| sst2"))
    assert row.split("|")[8].strip() == "2"  # settings tried: the earlier cell and the new one
