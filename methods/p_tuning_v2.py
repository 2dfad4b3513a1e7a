"""P-tuning v2 (Liu et al.): deep prompts in every layer, no reparameterisation, linear head."""

from __future__ import annotations

from dataclasses import dataclass

from bench.models import ModelRef
from methods.prefix_tuning import build_deep_prompt
from methods.spec import BuiltMethod, MethodConfig, register_method
from tasks.spec import TaskSpec


@dataclass(frozen=True)
class PTuningV2Config(MethodConfig):
    learning_rate: float = 3e-2
    prefix_length: int = 20


@register_method("p_tuning_v2", config=PTuningV2Config)
def build_p_tuning_v2(config: PTuningV2Config, *, model: ModelRef, task: TaskSpec,
                      max_length: int) -> BuiltMethod:
    """Deep prompts (per-layer key/value prefixes, no MLP), linear classifier on [CLS]."""
    return build_deep_prompt(model=model, task=task, max_length=max_length, length=config.prefix_length,
                             projection_hidden=None)
