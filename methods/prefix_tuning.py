"""Prefix tuning (Li & Liang): key/value prefixes in every layer, through an MLP."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from bench.core.family import Capability, family_of
from bench.core.knobs import knob
from bench.core.method import BuiltMethod, learning_rate_knob, register_method
from bench.core.models import ModelRef
from bench.core.prefixes import active_prefixes
from bench.core.task import TaskSpec
from methods.heads import EncoderClassifier, PooledConfig, Pooling, load_pooled_parts
from methods.prefix_attention import PrefixEncoder


@dataclass(frozen=True)
class PrefixTuningMethodConfig(PooledConfig):
    learning_rate: float = learning_rate_knob(1e-3)  # 5e-3 collapses to one class on SST-2 (docs/results)
    prefix_length: int = knob(20, "key/value prefix positions in every layer", at_least=1)
    prefix_projection: bool = knob(True, "reparameterise the prefixes through a 2-layer tanh MLP")
    projection_hidden: int = knob(512, "hidden width of that MLP", at_least=1)


class PrefixedEncoder(nn.Module):
    """A frozen encoder whose every attention layer also attends to trained key/value prefixes."""

    def __init__(self, encoder: nn.Module, *, length: int, projection_hidden: int | None) -> None:
        super().__init__()
        family = family_of(encoder)
        encoder.requires_grad_(False)
        family.install_prefix_attention(encoder)
        self.encoder = encoder
        n_layers, n_heads, head_dim = family.attention_shape(encoder.config)
        self.prefix_encoder = PrefixEncoder(length=length, n_layers=n_layers, n_heads=n_heads,
                                            head_dim=head_dim, projection_hidden=projection_hidden)

    @property
    def config(self):
        return self.encoder.config

    def forward(self, **inputs):
        with active_prefixes(*self.prefix_encoder()):
            return self.encoder(**inputs)


def build_deep_prompt(*, model: ModelRef, task: TaskSpec, max_length: int, length: int,
                      projection_hidden: int | None, pooling: Pooling) -> BuiltMethod:
    """Prefixes in every layer of a frozen backbone; the prefixes and the linear head train."""
    parts = load_pooled_parts(model, task, pooling=pooling, max_length=max_length)
    if parts.head.pooler is not None:
        parts.head.pooler.requires_grad_(False)
    encoder = PrefixedEncoder(parts.encoder, length=length, projection_hidden=projection_hidden)
    return BuiltMethod(EncoderClassifier(encoder, parts.head), parts.input_encoder,
                       trains=("encoder.prefix_encoder.", "head.linear."), pooling=parts.describe())


@register_method("prefix_tuning", config=PrefixTuningMethodConfig, peer="peer_prefix_tuning",
                 needs=(Capability.PREFIX_ATTENTION,))
def build_prefix_tuning(config: PrefixTuningMethodConfig, *, model: ModelRef, task: TaskSpec,
                        max_length: int) -> BuiltMethod:
    """Deep key/value prefixes in every layer, MLP reparameterisation, classifier head."""
    hidden = config.projection_hidden if config.prefix_projection else None
    return build_deep_prompt(model=model, task=task, max_length=max_length, length=config.prefix_length,
                             projection_hidden=hidden, pooling=config.pooling)
