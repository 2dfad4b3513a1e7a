"""Slow: the real pretrained model on real data must learn (loading, loop and verbalizer wiring)."""

import pytest

from bench.core.models import DEFAULT_MODEL
from bench.training.loop import TrainConfig
from tests.helpers import run_tiny, tiny_grid


@pytest.mark.slow
@pytest.mark.shared
def test_full_ft_and_hard_prompt_beat_the_majority_class_on_sst2_100_shots(tmp_path, shared_data_dir):
    grid = tiny_grid(DEFAULT_MODEL, methods=("full_ft", "hard_prompt"), seeds=(42,), shots="100",
                     train=TrainConfig())
    for record in run_tiny(grid, tmp_path, shared_data_dir):
        assert record.succeeded, record.error
        assert record.mlm_head == ("new" if record.method == "hard_prompt" else "none")
        assert record.score > record.majority_score + 0.02, (record.method, record.score)
