"""Hard prompt (PET): the task template with [MASK], label words scored by the MLM head."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from bench.core.family import Capability
from bench.core.knobs import knob
from bench.core.method import BuiltMethod, GradientConfig, learning_rate_knob, register_method
from bench.core.models import ModelRef, read_model_card
from bench.core.task import Example, TaskSpec
from methods.auxiliary_mlm import (
    AUXILIARY_TEXTS_HELP,
    AUXILIARY_WEIGHT_HELP,
    AuxiliaryMlm,
    check_auxiliary,
)
from methods.encoding import TemplateEncoder
from methods.mlm import (
    CALIBRATION_HELP,
    LABEL_WORDS_ONLY_HELP,
    Calibration,
    freeze_backbone_keep_head,
    load_mlm_classifier,
)


@dataclass(frozen=True)
class HardPromptConfig(GradientConfig):
    learning_rate: float = learning_rate_knob(3e-4)  # chosen on dev only: docs/results/defaults.md
    freeze_backbone: bool = knob(False, "train the MLM head only")
    label_words_only: bool = knob(True, LABEL_WORDS_ONLY_HELP)
    calibration: Calibration = knob(Calibration.NONE, CALIBRATION_HELP)
    auxiliary_mlm: float = knob(0.0, AUXILIARY_WEIGHT_HELP, at_least=0, at_most=1)
    auxiliary_texts: str = knob("", AUXILIARY_TEXTS_HELP)

    def __post_init__(self) -> None:
        super().__post_init__()
        check_auxiliary(self.auxiliary_mlm, self.auxiliary_texts)


@register_method("hard_prompt", config=HardPromptConfig, needs=(Capability.MLM_HEAD,), zero_shot=True)
def build_hard_prompt(config: HardPromptConfig, *, model: ModelRef, task: TaskSpec,
                      max_length: int) -> BuiltMethod:
    """PET-style hard prompt: template + verbalizer read out by the MLM head at [MASK]."""
    # the auxiliary loss reads the whole vocabulary: the head keeps its full output layer then
    label_words_only = config.label_words_only and not config.auxiliary_mlm
    tokenizer, classifier, head = load_mlm_classifier(model, task, label_words_only=label_words_only)
    if config.freeze_backbone:
        freeze_backbone_keep_head(classifier, train_head=True)
    encoder = TemplateEncoder(tokenizer, task.template, task.text_fields,
                              n_masks=classifier.verbalizer.n_masks, max_length=max_length,
                              text_prefix=read_model_card(model).text_prefix)
    if config.calibration == Calibration.EMPTY:
        [content_free] = encoder.encode([Example(tuple("" for _ in task.text_fields), 0)])
        classifier.calibrate_with(content_free)
    if config.auxiliary_mlm:
        seed = int(torch.randint(0, 2**31 - 1, ()))  # drawn from the cell's seeded generator
        classifier.auxiliary = AuxiliaryMlm(tokenizer, task, Path(config.auxiliary_texts), batch_size=16,
                                            max_length=max_length, seed=seed)
        classifier.auxiliary_weight = config.auxiliary_mlm
    return BuiltMethod(classifier, encoder, mlm_head=head)
