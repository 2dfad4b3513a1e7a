"""Full fine-tuning: a sequence-classification head on [CLS], every parameter trains."""

from __future__ import annotations

from dataclasses import dataclass

from bench.models import ModelRef, load_sequence_classifier, load_tokenizer
from methods.encoding import PlainEncoder
from methods.spec import BuiltMethod, LogitsOf, MethodConfig, register_method
from tasks.spec import TaskSpec


@dataclass(frozen=True)
class FullFTConfig(MethodConfig):
    learning_rate: float = 1e-4


@register_method("full_ft", config=FullFTConfig)
def build_full_ft(config: FullFTConfig, *, model: ModelRef, task: TaskSpec,
                  max_length: int) -> BuiltMethod:
    """Full fine-tuning of AutoModelForSequenceClassification."""
    classifier = load_sequence_classifier(model, task.n_labels)
    return BuiltMethod(LogitsOf(classifier), PlainEncoder(load_tokenizer(model), max_length))
