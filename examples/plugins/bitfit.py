"""BitFit (Ben Zaken et al., 2022) as a PETBench plugin, outside the package: only the encoder's bias
terms and a linear classifier train.

    run_bench.py --plugin examples/plugins/bitfit.py --methods bitfit,lora
    run_bench.py list --plugin examples/plugins/bitfit.py --method bitfit
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.core.method import BuiltMethod, learning_rate_knob, register_method
from bench.core.models import ModelRef
from bench.core.task import TaskSpec
from methods.heads import EncoderClassifier, PooledConfig, load_pooled_parts


@dataclass(frozen=True)
class BitFitConfig(PooledConfig):
    learning_rate: float = learning_rate_knob(1e-3)


@register_method("bitfit", config=BitFitConfig)
def build_bitfit(config: BitFitConfig, *, model: ModelRef, task: TaskSpec, max_length: int) -> BuiltMethod:
    """BitFit: only the encoder's bias terms and a linear classifier train."""
    parts = load_pooled_parts(model, task, pooling=config.pooling, max_length=max_length)
    for name, parameter in parts.encoder.named_parameters():
        parameter.requires_grad_(name.endswith(".bias"))
    if parts.head.pooler is not None:
        parts.head.pooler.requires_grad_(False)
    return BuiltMethod(EncoderClassifier(parts.encoder, parts.head), parts.input_encoder,
                       trains=(".bias", "head.linear."), pooling=parts.describe())
