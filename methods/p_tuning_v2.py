"""P-tuning v2 (Liu et al.): deep prompts in every layer, no reparameterisation, linear head."""

from __future__ import annotations

from dataclasses import dataclass

from bench.core.family import Capability
from bench.core.knobs import knob
from bench.core.method import BuiltMethod, learning_rate_knob, register_method
from bench.core.models import ModelRef
from bench.core.task import TaskSpec
from methods.heads import PooledConfig
from methods.prefix_tuning import build_deep_prompt


@dataclass(frozen=True)
class PTuningV2Config(PooledConfig):
    learning_rate: float = learning_rate_knob(1e-2)  # chosen on dev only: docs/results/defaults.md
    prefix_length: int = knob(20, "deep-prompt (key/value prefix) positions in every layer", at_least=1)


@register_method("p_tuning_v2", config=PTuningV2Config, peer="peer_prefix_tuning",
                 needs=(Capability.PREFIX_ATTENTION,))
def build_p_tuning_v2(config: PTuningV2Config, *, model: ModelRef, task: TaskSpec,
                      max_length: int) -> BuiltMethod:
    """Deep prompts (per-layer key/value prefixes, no MLP) and a linear classifier."""
    return build_deep_prompt(model=model, task=task, max_length=max_length, length=config.prefix_length,
                             projection_hidden=None, pooling=config.pooling)
