"""Full fine-tuning: every parameter trains, a linear classifier reads the pooled encoder."""

from __future__ import annotations

from dataclasses import dataclass

from bench.core.method import BuiltMethod, learning_rate_knob, register_method
from bench.core.models import ModelRef
from bench.core.task import TaskSpec
from methods.heads import EncoderClassifier, PooledConfig, load_pooled_parts


@dataclass(frozen=True)
class FullFTConfig(PooledConfig):
    learning_rate: float = learning_rate_knob(1e-4)


@register_method("full_ft", config=FullFTConfig, peer="peer_full_ft")
def build_full_ft(config: FullFTConfig, *, model: ModelRef, task: TaskSpec, max_length: int) -> BuiltMethod:
    """Full fine-tuning of the encoder and a linear classifier on its pooled states."""
    parts = load_pooled_parts(model, task, pooling=config.pooling, max_length=max_length)
    return BuiltMethod(EncoderClassifier(parts.encoder, parts.head), parts.input_encoder,
                       pooling=parts.describe())
