"""LN tuning (peft): only the layers' normalisation modules (a trained copy of each) and the head train."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from torch import nn

from bench.core.family import Capability, ModuleRole
from bench.core.knobs import knob
from bench.core.method import BuiltMethod, SearchRange, learning_rate_knob, register_method
from bench.core.models import ModelRef
from bench.core.task import TaskSpec
from methods.heads import PooledConfig
from methods.peft_adapter import build_from_peft_config, module_names


@dataclass(frozen=True)
class LnTuningConfig(PooledConfig):
    learning_rate: float = learning_rate_knob(3e-3)
    targets: tuple[ModuleRole, ...] = knob((ModuleRole.ATTENTION_NORM, ModuleRole.FFN_NORM),
                                           "the norms that train, by role (each family's own modules)")


def peft_config(config: LnTuningConfig, encoder: nn.Module) -> Any:
    from peft import LNTuningConfig, TaskType

    return LNTuningConfig(task_type=TaskType.FEATURE_EXTRACTION,
                          target_modules=module_names(encoder, config.targets))


@register_method("ln_tuning", config=LnTuningConfig, peer="peer_ln_tuning", needs=(Capability.NORMS,),
                 search_space=(SearchRange("learning_rate", ("1e-3", "3e-3", "1e-2"),
                                           "peft's docs give no rate for LN tuning: this project's choice, "
                                           "the rates of the other vector-sized methods ((IA)^3, BEFT)"),))
def build_ln_tuning(config: LnTuningConfig, *, model: ModelRef, task: TaskSpec,
                    max_length: int) -> BuiltMethod:
    """LN tuning (peft): only the layers' LayerNorm gains and biases (and the head) train."""
    return build_from_peft_config(config, peft_config, model=model, task=task, max_length=max_length,
                                  trains=("ln_tuning_layers",))
