"""BEFT (peft): a trained bias added to the value projection's output in every layer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from torch import nn

from bench.core.family import ModuleRole
from bench.core.knobs import knob
from bench.core.method import BuiltMethod, SearchRange, learning_rate_knob, register_method
from bench.core.models import ModelRef
from bench.core.task import TaskSpec
from methods.heads import PooledConfig
from methods.peft_adapter import build_from_peft_config, module_names


@dataclass(frozen=True)
class BeftMethodConfig(PooledConfig):
    """BEFT's knobs: which projections get a trained bias."""

    learning_rate: float = learning_rate_knob(3e-3)
    targets: tuple[ModuleRole, ...] = knob((ModuleRole.VALUE,), "the projections that get a trained bias, "
                                                                "by role (peft's default: value)")


BEFT_SPACE = (SearchRange("learning_rate", ("1e-3", "3e-3", "1e-2"),
                          "peft's docs give no rate for BEFT: this project's choice, the "
                          "rates of (IA)^3's grid (a vector per layer, as its are)"),)


def peft_config(config: BeftMethodConfig, encoder: nn.Module) -> Any:
    from peft import BeftConfig, TaskType

    return BeftConfig(task_type=TaskType.FEATURE_EXTRACTION,
                      target_modules=module_names(encoder, config.targets))


@register_method("beft", config=BeftMethodConfig, peer="peer_beft", search_space=BEFT_SPACE)
def build_beft(config: BeftMethodConfig, *, model: ModelRef, task: TaskSpec, max_length: int) -> BuiltMethod:
    """BEFT (peft): a trained bias on the value projections' output."""
    return build_from_peft_config(config, peft_config, model=model, task=task, max_length=max_length,
                                  trains=("beft_bias",))
