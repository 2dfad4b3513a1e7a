"""Which trained states compete in selection: each epoch's end, or every --eval-every steps (the
protocols that evaluate by steps, as LM-BFF does), and always the last step."""

from dataclasses import replace

import bench.training.loop as loop
from bench.training.loop import dev_passes, is_checkpoint
from tests.helpers import FAST_TRAINING, run_tiny, tiny_grid


def test_checkpoints_fall_every_eval_every_steps_else_at_each_epochs_end_and_always_at_the_last_step():
    by_steps = [step for step in range(1, 8) if is_checkpoint(step, total_steps=7, steps_per_epoch=2,
                                                              eval_every=3)]
    by_epochs = [step for step in range(1, 8) if is_checkpoint(step, total_steps=7, steps_per_epoch=2,
                                                               eval_every=0)]
    assert by_steps == [3, 6, 7] and by_epochs == [2, 4, 6, 7]
    assert dev_passes(total_steps=7, steps_per_epoch=2, eval_every=3) == 1 + len(by_steps)
    assert dev_passes(total_steps=7, steps_per_epoch=2, eval_every=0) == 1 + len(by_epochs)


def test_a_cell_with_eval_every_scores_dev_at_those_steps_and_keeps_one_of_them(monkeypatch, tmp_path,
                                                                                 tiny_model, data_dir):
    scored = []
    real_predict = loop.predict

    def counting_predict(model, examples, **options):
        scored.append(options.get("progress"))
        return real_predict(model, examples, **options)

    monkeypatch.setattr(loop, "predict", counting_predict)
    train = replace(FAST_TRAINING, max_steps=5, eval_every=3)  # 8 shots at batch 4: epochs end at 2, 4
    [record] = run_tiny(tiny_grid(tiny_model, train=train), tmp_path, data_dir)
    assert scored.count("dev") == 3  # the untrained start, steps 3 and 5
    assert record.best_step in (3, 5)
