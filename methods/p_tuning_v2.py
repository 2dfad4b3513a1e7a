"""P-tuning v2 (Liu et al.): deep prompts in every layer, no reparameterisation, linear head."""

from __future__ import annotations

from dataclasses import dataclass

from bench.models import ModelRef
from methods.peft_adapter import build_peft_classifier
from methods.prefix_tuning import deep_prompt_config
from methods.spec import BuiltMethod, MethodConfig, register_method
from tasks.spec import TaskSpec


@dataclass(frozen=True)
class PTuningV2Config(MethodConfig):
    learning_rate: float = 3e-2
    prefix_length: int = 20


@register_method("p_tuning_v2", config=PTuningV2Config)
def build_p_tuning_v2(config: PTuningV2Config, *, model: ModelRef, task: TaskSpec,
                      max_length: int) -> BuiltMethod:
    """Deep prompts (per-layer key/value prefixes, peft), linear classifier on [CLS]."""
    peft_config = deep_prompt_config(length=config.prefix_length, projection=False, projection_hidden=0)
    return build_peft_classifier(peft_config, model=model, task=task, max_length=max_length,
                                 trains=("prompt_encoder",))
