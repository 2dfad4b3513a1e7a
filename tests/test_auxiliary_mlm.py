"""PET's auxiliary MLM loss (hard_prompt's auxiliary_mlm knob): each training step's gradient is
(1 - w) of the task loss's plus w of the MLM loss's on unlabelled texts in the template, so both
terms reach the weights; the knob needs its texts, said before any cell runs."""

import pytest
import torch
from torch import nn

from bench.core.device import DeviceChoice, choose_device
from bench.core.errors import BenchError
from bench.core.leaks import HeldOut, guard_unlabelled
from bench.core.method import get_method
from bench.core.task import Example
from bench.training.loop import TrainConfig, train_step
from tests.helpers import assert_close_at, batch, build

EXAMPLES = [Example(("the film was great and moving",), 1), Example(("a dull and tedious story",), 0)]
UNLABELLED = ["the acting was superb", "far too long and flat", "a charming story", "every minute was dull"]


class GradientRecorder:
    """Stands in for the optimiser: keeps the gradients train_step produced instead of stepping."""

    def __init__(self, model: nn.Module) -> None:
        self.param_groups = [{"params": [p for p in model.parameters() if p.requires_grad]}]
        self.names = {id(p): name for name, p in model.named_parameters()}
        self.gradients: dict[str, torch.Tensor] = {}

    def step(self) -> None:
        self.gradients = {self.names[id(p)]: p.grad.clone() for p in self.param_groups[0]["params"]
                          if p.grad is not None}

    def zero_grad(self, set_to_none: bool = True) -> None:
        for parameter in self.param_groups[0]["params"]:
            parameter.grad = None


def _built(tiny_model, **knobs: str):
    built = build("hard_prompt", tiny_model, **knobs)
    guard_unlabelled(built.model, HeldOut.of((), "no text"))  # as the runner does before training
    for module in built.model.modules():  # no dropout: the three passes must see the same network
        if isinstance(module, nn.Dropout):
            module.p = 0.0
    return built


def _step_gradients(built, device: DeviceChoice) -> dict[str, torch.Tensor]:
    recorder = GradientRecorder(built.model)
    train_step(built.model, batch(built, EXAMPLES), recorder, TrainConfig(max_grad_norm=1e9), device)
    return recorder.gradients


def test_both_the_task_loss_and_the_auxiliary_mlm_loss_reach_the_gradients(tmp_path, tiny_model, precision):
    device = choose_device("cpu", precision=precision)
    texts = tmp_path / "unlabelled.txt"
    texts.write_text("\n".join(UNLABELLED) + "\n", encoding="utf-8")
    torch.manual_seed(0)
    mixed = _step_gradients(_built(tiny_model, auxiliary_mlm="0.25", auxiliary_texts=str(texts)), device)
    torch.manual_seed(0)
    task_only = _step_gradients(_built(tiny_model, label_words_only="false"), device)
    torch.manual_seed(0)
    auxiliary = _built(tiny_model, auxiliary_mlm="0.25", auxiliary_texts=str(texts))
    auxiliary.model.train()
    with device.autocast():
        loss = auxiliary.model.auxiliary_loss()
    loss.backward()
    mlm_only = {name: p.grad for name, p in auxiliary.model.named_parameters() if p.grad is not None}
    word_embeddings = "encoder.embeddings.word_embeddings.weight"
    assert task_only[word_embeddings].abs().sum() > 0 and mlm_only[word_embeddings].abs().sum() > 0
    expected = {name: 0.75 * task_only.get(name, 0) + 0.25 * mlm_only.get(name, 0) for name in mixed}
    assert_close_at(precision, mixed, expected)


def test_the_auxiliary_loss_needs_its_texts_before_any_cell_runs(tmp_path):
    spec = get_method("hard_prompt")
    with pytest.raises(BenchError, match="auxiliary_mlm needs auxiliary_texts=FILE"):
        spec.make_config({"auxiliary_mlm": "0.0001"})
    with pytest.raises(BenchError, match="not found"):
        spec.make_config({"auxiliary_mlm": "0.0001", "auxiliary_texts": str(tmp_path / "missing.json")})
