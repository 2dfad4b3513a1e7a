"""Hard prompt (PET): the task template with [MASK], label words scored by the MLM head."""

from __future__ import annotations

from dataclasses import dataclass

from bench.models import ModelRef
from methods.encoding import TemplateEncoder
from methods.mlm import PromptCollator, freeze_backbone_keep_head, load_mlm_classifier
from methods.spec import BuiltMethod, MethodConfig, register_method
from tasks.spec import TaskSpec


@dataclass(frozen=True)
class HardPromptConfig(MethodConfig):
    learning_rate: float = 1e-4
    freeze_backbone: bool = False  # True: only the MLM head trains


@register_method("hard_prompt", config=HardPromptConfig)
def build_hard_prompt(config: HardPromptConfig, *, model: ModelRef, task: TaskSpec,
                      max_length: int) -> BuiltMethod:
    """PET-style hard prompt: template + verbalizer read out by the MLM head at [MASK]."""
    tokenizer, classifier, head_pretrained = load_mlm_classifier(model, task)
    if config.freeze_backbone:
        freeze_backbone_keep_head(classifier, train_head=True)
    encoder = TemplateEncoder(tokenizer, task.template, n_masks=classifier.verbalizer.n_masks,
                              max_length=max_length)
    return BuiltMethod(classifier, PromptCollator(task, encoder),
                       mlm_head="pretrained" if head_pretrained else "new")
