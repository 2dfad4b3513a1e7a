"""Prefix tuning (Li & Liang, via peft): key/value prefixes in every layer, through an MLP."""

from __future__ import annotations

from dataclasses import dataclass

from bench.models import ModelRef
from methods.peft_adapter import build_peft_classifier
from methods.spec import BuiltMethod, MethodConfig, register_method
from tasks.spec import TaskSpec


@dataclass(frozen=True)
class PrefixTuningMethodConfig(MethodConfig):
    learning_rate: float = 1e-3  # 5e-3 collapses to one class on SST-2 (docs/results)
    prefix_length: int = 20
    prefix_projection: bool = True  # reparameterise the prefixes through a 2-layer MLP
    projection_hidden: int = 512


def deep_prompt_config(*, length: int, projection: bool, projection_hidden: int):
    from peft import PrefixTuningConfig, TaskType

    return PrefixTuningConfig(task_type=TaskType.SEQ_CLS, num_virtual_tokens=length,
                              prefix_projection=projection, encoder_hidden_size=projection_hidden)


@register_method("prefix_tuning", config=PrefixTuningMethodConfig)
def build_prefix_tuning(config: PrefixTuningMethodConfig, *, model: ModelRef, task: TaskSpec,
                        max_length: int) -> BuiltMethod:
    """Deep key/value prefixes in every layer (peft past_key_values), MLP reparameterisation."""
    peft_config = deep_prompt_config(length=config.prefix_length, projection=config.prefix_projection,
                                     projection_hidden=config.projection_hidden)
    return build_peft_classifier(peft_config, model=model, task=task, max_length=max_length,
                                 trains=("prompt_encoder",))
