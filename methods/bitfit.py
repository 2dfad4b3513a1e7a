"""BitFit (Ben Zaken et al., 2022): only the encoder's bias terms and a linear classifier train. The
same method is the pattern of a plugin method: see examples/plugins/ for one kept outside the package."""

from __future__ import annotations

from dataclasses import dataclass

from bench.core.family import Capability
from bench.core.method import BuiltMethod, SearchRange, learning_rate_knob, register_method
from bench.core.models import ModelRef
from bench.core.task import TaskSpec
from methods.heads import EncoderClassifier, PooledConfig, load_pooled_parts


@dataclass(frozen=True)
class BitFitConfig(PooledConfig):
    learning_rate: float = learning_rate_knob(1e-3)


@register_method("bitfit", config=BitFitConfig, needs=(Capability.BIASES,),
                 search_space=(SearchRange("learning_rate", ("1e-4", "4e-4", "7e-4", "1e-3"),
                                           "BitFit paper (Ben Zaken et al. 2022, §3): its learning-rate "
                                           "search"),))
def build_bitfit(config: BitFitConfig, *, model: ModelRef, task: TaskSpec, max_length: int) -> BuiltMethod:
    """BitFit: only the encoder's bias terms and a linear classifier train."""
    parts = load_pooled_parts(model, task, pooling=config.pooling, max_length=max_length)
    biases = []
    for name, parameter in parts.encoder.named_parameters():
        parameter.requires_grad_(name.endswith(".bias"))
        if name.endswith(".bias"):
            biases.append(f"encoder.{name}")
    if parts.head.pooler is not None:  # a pretrained pooler's bias stays as it was trained
        parts.head.pooler.requires_grad_(False)
    return BuiltMethod(EncoderClassifier(parts.encoder, parts.head), parts.input_encoder,
                       trains=(*biases, "head.linear."), pooling=parts.describe())
