"""Shared builder for the peft-backed methods: a peft config applied to a sequence classifier."""

from __future__ import annotations

from bench.models import ModelRef, load_sequence_classifier, load_tokenizer
from methods.encoding import PlainEncoder
from methods.spec import BuiltMethod, LogitsOf
from tasks.spec import TaskSpec

# peft trains a copy of the classification head kept under this name
PEFT_HEAD = "classifier.modules_to_save"


def build_peft_classifier(peft_config, *, model: ModelRef, task: TaskSpec, max_length: int,
                          trains: tuple[str, ...]) -> BuiltMethod:
    """AutoModelForSequenceClassification wrapped by peft.get_peft_model (backbone frozen)."""
    from peft import get_peft_model

    classifier = load_sequence_classifier(model, task.n_labels)
    peft_model = get_peft_model(classifier, peft_config)
    return BuiltMethod(LogitsOf(peft_model), PlainEncoder(load_tokenizer(model), max_length),
                       trains=(*trains, PEFT_HEAD))
