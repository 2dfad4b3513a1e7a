"""Contextual calibration (hard_prompt's `calibration` knob): at scoring time the label-word
probabilities are divided by those the head gives the template with empty fields; training reads the
raw scores; the knob is part of the cell's recorded config."""

import dataclasses
import json

import torch

from bench.core.task import Example
from tests.helpers import batch, build, run_tiny, tiny_grid

EXAMPLES = [Example(("the film was great and moving",), 1), Example(("a dull and tedious story",), 0)]


def _scores(built, examples, *, training: bool = False) -> torch.Tensor:
    inputs = batch(built, examples)
    inputs.pop("labels")
    built.model.train(training)
    with torch.no_grad():
        return built.model(**inputs)


def _pair(model):
    """hard_prompt on the same weights, without and with calibration."""
    return build("hard_prompt", model), build("hard_prompt", model, calibration="empty")


def test_the_content_free_input_itself_scores_every_label_alike_after_calibration(tiny_model):
    plain, calibrated = _pair(tiny_model)
    empty = [Example(("",), 0)]
    raw = _scores(plain, empty)
    assert abs(float(raw[0, 0] - raw[0, 1])) > 1e-4  # the random head prefers one label word
    assert torch.allclose(_scores(calibrated, empty), torch.zeros(1, 2), atol=1e-5)


def test_calibration_divides_out_the_prior_at_scoring_and_leaves_training_raw(tiny_model):
    plain, calibrated = _pair(tiny_model)
    prior = torch.log_softmax(_scores(plain, [Example(("",), 0)]), dim=-1)
    expected = torch.log_softmax(_scores(plain, EXAMPLES), dim=-1) - prior
    assert torch.allclose(_scores(calibrated, EXAMPLES), expected, atol=1e-5)
    torch.manual_seed(0)
    raw = _scores(plain, EXAMPLES, training=True)
    torch.manual_seed(0)
    assert torch.allclose(_scores(calibrated, EXAMPLES, training=True), raw, atol=1e-6)


def test_a_calibrated_zero_shot_cell_records_the_knob(tmp_path, tiny_model, data_dir):
    from bench.training.cells import method_choice
    from bench.training.loop import TrainConfig

    grid = dataclasses.replace(
        tiny_grid(tiny_model, train=TrainConfig(zero_shot=True, max_length=64)),
        methods=(method_choice("hard_prompt", {"calibration": "empty"}),))
    [record] = run_tiny(grid, tmp_path / "run", data_dir)
    assert record.succeeded and record.zero_shot and record.steps == 0
    assert json.loads(record.method_config)["calibration"] == "empty"
