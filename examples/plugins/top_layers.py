"""Top-layer fine-tuning (Lee et al., 2019, "What Would Elsa Do? Freezing Layers During Transformer
Fine-Tuning") as a PETBench plugin, outside the package: the encoder's top k layers and a linear
classifier train, everything below them stays frozen. The pattern of a plugin method is the one the
built-in methods follow (`methods/bitfit.py` is the shortest): a config of knobs and a builder.

    run_bench.py --plugin examples/plugins/top_layers.py --methods top_layers,bitfit
    run_bench.py list --plugin examples/plugins/top_layers.py --method top_layers
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.core.family import family_of
from bench.core.knobs import knob
from bench.core.method import BuiltMethod, learning_rate_knob, register_method
from bench.core.models import ModelRef
from bench.core.task import TaskSpec
from methods.heads import EncoderClassifier, PooledConfig, load_pooled_parts


@dataclass(frozen=True)
class TopLayersConfig(PooledConfig):
    learning_rate: float = learning_rate_knob(1e-4)
    layers: int = knob(2, "how many of the encoder's top layers train", at_least=1)


@register_method("top_layers", config=TopLayersConfig)
def build_top_layers(config: TopLayersConfig, *, model: ModelRef, task: TaskSpec,
                     max_length: int) -> BuiltMethod:
    """Top layers: only the encoder's top k layers and a linear classifier train."""
    parts = load_pooled_parts(model, task, pooling=config.pooling, max_length=max_length)
    parts.encoder.requires_grad_(False)
    if parts.head.pooler is not None:
        parts.head.pooler.requires_grad_(False)
    top = family_of(parts.encoder).layer_stack(parts.encoder).layers[-config.layers:]
    names = {id(module): name for name, module in parts.encoder.named_modules()}
    for layer in top:  # ALBERT's one shared layer is every position: it trains whole
        layer.requires_grad_(True)
    trains = tuple(f"encoder.{names[id(layer)]}." for layer in dict.fromkeys(top))
    return BuiltMethod(EncoderClassifier(parts.encoder, parts.head), parts.input_encoder,
                       trains=(*trains, "head.linear."), pooling=parts.describe())
