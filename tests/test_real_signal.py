"""Slow: the real pretrained model on real data must learn (loading, loop and verbalizer wiring)."""

import pytest

from bench.device import choose_device
from bench.models import DEFAULT_MODEL, resolve_model
from bench.results import ResultsStore
from bench.runner import GridConfig, run_grid
from bench.train import TrainConfig
from methods import get_method
from tasks import get_task


@pytest.mark.slow
def test_full_ft_and_hard_prompt_beat_the_majority_class_on_sst2_100_shots(tmp_path, data_dir):
    methods = tuple((get_method(name), get_method(name).make_config()) for name in ("full_ft", "hard_prompt"))
    grid = GridConfig(tasks=(get_task("sst2"),), methods=methods, model=resolve_model(DEFAULT_MODEL),
                      seeds=(42,), shots="100", fewclue_split="0", data_dir=data_dir, train=TrainConfig())
    records = run_grid(grid, ResultsStore(tmp_path), choose_device("auto"))
    for record in records:
        assert record.status == "success", record.error
        assert record.mlm_head == ("new" if record.method == "hard_prompt" else "none")
        assert record.score > record.majority_score + 0.02, (record.method, record.score)
