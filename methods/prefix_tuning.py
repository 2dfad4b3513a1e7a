"""Prefix tuning (Li & Liang): key/value prefixes in every layer, through an MLP."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from bench.models import ModelRef, load_sequence_classifier, load_tokenizer
from methods.encoding import PlainEncoder
from methods.prefix_attention import PrefixEncoder, active_prefixes, use_prefix_attention
from methods.spec import BuiltMethod, MethodConfig, register_method
from tasks.spec import TaskSpec


@dataclass(frozen=True)
class PrefixTuningMethodConfig(MethodConfig):
    learning_rate: float = 1e-3  # 5e-3 collapses to one class on SST-2 (docs/results)
    prefix_length: int = 20
    prefix_projection: bool = True  # reparameterise the prefixes through a 2-layer MLP
    projection_hidden: int = 512


class DeepPromptClassifier(nn.Module):
    """A frozen sequence classifier whose every attention layer also attends to trained prefixes;
    its classification head trains."""

    def __init__(self, classifier: nn.Module, *, length: int, projection_hidden: int | None) -> None:
        super().__init__()
        config = classifier.config
        classifier.base_model.requires_grad_(False)
        use_prefix_attention(classifier)
        self.classifier = classifier
        self.prefix_encoder = PrefixEncoder(
            length=length, n_layers=config.num_hidden_layers, n_heads=config.num_attention_heads,
            head_dim=config.hidden_size // config.num_attention_heads, projection_hidden=projection_hidden)

    def forward(self, **inputs: torch.Tensor) -> torch.Tensor:
        with active_prefixes(*self.prefix_encoder()):
            return self.classifier(**inputs).logits


def build_deep_prompt(*, model: ModelRef, task: TaskSpec, max_length: int, length: int,
                      projection_hidden: int | None) -> BuiltMethod:
    """Prefixes in every layer of a frozen backbone; the prefixes and the classifier head train."""
    classifier = load_sequence_classifier(model, task.n_labels)
    net = DeepPromptClassifier(classifier, length=length, projection_hidden=projection_hidden)
    head = ("classifier.classifier.",)  # BERT: pooler frozen, then linear; RoBERTa: dense + out_proj
    return BuiltMethod(net, PlainEncoder(load_tokenizer(model), max_length),
                       trains=("prefix_encoder.", *head))


@register_method("prefix_tuning", config=PrefixTuningMethodConfig)
def build_prefix_tuning(config: PrefixTuningMethodConfig, *, model: ModelRef, task: TaskSpec,
                        max_length: int) -> BuiltMethod:
    """Deep key/value prefixes in every layer, MLP reparameterisation, classifier head."""
    return build_deep_prompt(model=model, task=task, max_length=max_length, length=config.prefix_length,
                             projection_hidden=config.projection_hidden if config.prefix_projection else None)
