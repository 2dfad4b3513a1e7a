"""The dev-selection diagnostic on a hand-made grid: selected and oracle eval scores, their gap and
Kendall's tau between dev and eval, each worked out by hand."""

import json

import pytest

from bench.core.records import CellResult, CellStatus
from reports.aggregate import cells_frame
from reports.selection_diagnostic import HOW_TO_READ, selection_diagnostics

# per seed, the grid's (dev, eval) per learning rate, in grid order
GRID = {
    1: [(0.60, 0.62), (0.70, 0.75), (0.80, 0.70)],  # dev picks 0.80 -> eval 0.70; oracle 0.75; tau 1/3
    2: [(0.50, 0.60), (0.90, 0.80), (0.70, 0.65)],  # dev picks 0.90 -> eval 0.80 = oracle; tau 1
}
RATES = ("1e-4", "1e-3", "1e-2")


def grid_records(grid: dict[int, list[tuple[float, float]]]) -> list[CellResult]:
    return [CellResult(cell_id=f"sst2/lora/lr={rate}/seed={seed}", config_id=f"lora-{rate}",
                       status=CellStatus.SUCCESS, task="sst2", task_version="1", language="en", method="lora",
                       method_config="{}", model="m", seed=seed, shots=16, split=None, zero_shot=False,
                       metric="accuracy", selection_id="lora-search", search=json.dumps({"lr": rate}),
                       search_index=index, dev_score=dev, score=evaluated, train_config=json.dumps({}))
            for seed, points in grid.items() for index, (rate, (dev, evaluated)) in
            enumerate(zip(RATES, points, strict=True))]


def test_selected_oracle_gap_and_tau_match_the_hand_computed_values():
    (diagnostic,) = selection_diagnostics(cells_frame(grid_records(GRID)))
    assert (diagnostic.task, diagnostic.method) == ("sst2", "lora")
    assert (diagnostic.runs, diagnostic.grid_points) == (2, 3)
    assert diagnostic.selected == pytest.approx((0.70 + 0.80) / 2)
    assert diagnostic.oracle == pytest.approx((0.75 + 0.80) / 2)
    assert diagnostic.gap == pytest.approx(0.025)
    assert diagnostic.tau == pytest.approx((1 / 3 + 1) / 2)
    assert -1 <= diagnostic.tau_low <= diagnostic.tau_high <= 1


def test_a_dev_tie_selects_the_first_grid_point_as_the_report_does():
    tied = {1: [(0.80, 0.60), (0.80, 0.90), (0.70, 0.50)]}
    (diagnostic,) = selection_diagnostics(cells_frame(grid_records(tied)))
    assert diagnostic.selected == pytest.approx(0.60)
    assert diagnostic.oracle == pytest.approx(0.90) and diagnostic.gap == pytest.approx(0.30)


def test_dev_that_reverses_eval_has_tau_minus_one_and_a_constant_dev_has_none():
    reversed_grid = {1: [(0.6, 0.9), (0.7, 0.8), (0.8, 0.7)]}
    assert selection_diagnostics(cells_frame(grid_records(reversed_grid)))[0].tau == pytest.approx(-1.0)
    flat = {1: [(0.7, 0.9), (0.7, 0.8), (0.7, 0.7)]}
    diagnostic = selection_diagnostics(cells_frame(grid_records(flat)))[0]
    assert diagnostic.tau is None and diagnostic.tau_low is None


def test_the_interval_is_deterministic_given_its_seed():
    cells = cells_frame(grid_records(GRID))
    assert selection_diagnostics(cells, seed=3) == selection_diagnostics(cells, seed=3)


def test_how_to_read_names_every_column():
    for word in ("selected", "oracle", "gap", "Kendall"):
        assert word in HOW_TO_READ
