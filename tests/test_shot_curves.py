"""Score against shot count: means and bands per shot count, the crossover sentence on a constructed
curve, and the figure."""

import json

import pytest

from bench.core.records import CellResult, CellStatus
from reports.aggregate import cells_frame
from reports.shot_curves import FIGURE, crossovers, shot_curves, write_shot_curves

# method -> shots -> scores over three seeds: lora is behind at 8 and 16 shots, ahead from 32
CURVES = {
    "lora": {8: (0.60, 0.61, 0.62), 16: (0.65, 0.66, 0.67), 32: (0.80, 0.81, 0.82), None: (0.90, 0.91, 0.92)},
    "prompt_tuning": {8: (0.70, 0.71, 0.72), 16: (0.70, 0.71, 0.72), 32: (0.72, 0.73, 0.74),
                      None: (0.75, 0.76, 0.77)},
}


def curve_records(curves: dict) -> list[CellResult]:
    """A record per method, shot count and seed (a shot count is its own configuration, as in a sweep)."""
    return [CellResult(cell_id=f"sst2/{method}/{shots}/{seed}", config_id=f"{method}-{shots}",
                       status=CellStatus.SUCCESS, task="sst2", task_version="1", language="en",
                       method=method, method_config="{}", model="m", seed=seed, shots=shots, split=None,
                       zero_shot=False, metric="accuracy", score=value, train_config=json.dumps({}))
            for method, by_shots in curves.items() for shots, values in by_shots.items()
            for seed, value in enumerate(values)]


def test_each_shot_count_has_its_mean_and_band_in_shot_order():
    curves = {curve.method: curve for curve in shot_curves(cells_frame(curve_records(CURVES)))}
    lora = curves["lora"]
    assert [point.shots for point in lora.points] == ["8", "16", "32", "full"]
    assert lora.points[0].mean == pytest.approx(0.61) and lora.points[0].runs == 3
    assert lora.points[0].low < 0.61 < lora.points[0].high


def test_the_crossover_is_named_between_the_shot_counts_where_the_lead_changes():
    (crossover,) = crossovers(shot_curves(cells_frame(curve_records(CURVES))))
    assert (crossover.overtaking, crossover.overtaken, crossover.before, crossover.after) == (
        "lora", "prompt_tuning", "16", "32")
    assert crossover.resolved
    assert crossover.text == "lora overtakes prompt_tuning between 16 and 32 shots on sst2"


def test_a_crossover_inside_the_bands_says_it_is_not_settled():
    close = {"lora": {8: (0.60, 0.70, 0.80), 16: (0.72, 0.78, 0.84)},
             "prompt_tuning": {8: (0.72, 0.73, 0.74), 16: (0.72, 0.73, 0.74)}}
    (crossover,) = crossovers(shot_curves(cells_frame(curve_records(close))))
    assert not crossover.resolved and "not settled" in crossover.text


def test_the_figure_is_written_with_its_vector_twin(tmp_path):
    path = write_shot_curves(shot_curves(cells_frame(curve_records(CURVES))), tmp_path)
    assert path == tmp_path / FIGURE
    assert path.stat().st_size > 0 and path.with_suffix(".svg").exists()
