"""Slow: the real pretrained model on real data must learn (loading, loop and verbalizer wiring)."""

import pytest

from bench.core.models import DEFAULT_MODEL
from bench.session.plugins import WORKER_PRELOAD, PluginSetup
from bench.training.executors import LocalExecutor
from bench.training.loop import TrainConfig
from tests.helpers import run_tiny, tiny_grid


@pytest.mark.slow
@pytest.mark.shared
def test_full_ft_and_hard_prompt_beat_the_majority_class_on_sst2_100_shots(tmp_path, shared_data_dir):
    # half the default run's budget (5 epochs of 7 steps), scored on a fixed stratified 400 of the 872
    grid = tiny_grid(DEFAULT_MODEL, methods=("full_ft", "hard_prompt"), seeds=(42,), shots="100",
                     train=TrainConfig(max_steps=35, eval_limit=400))
    side_by_side = LocalExecutor(PluginSetup(), preload=WORKER_PRELOAD, jobs=2)  # as the default run does
    records = run_tiny(grid, tmp_path, shared_data_dir, side_by_side)
    assert len(records) == 2
    for record in records:
        assert record.succeeded, record.error
        assert record.mlm_head == ("new" if record.method == "hard_prompt" else "none")
        assert record.score > record.majority_score + 0.02, (record.method, record.score)
