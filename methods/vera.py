"""VeRA (peft): one pair of frozen random low-rank matrices shared by every adapted layer, scaled by
two trained vectors per layer (d on the rank, b on the output)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from torch import nn

from bench.core.family import family_of
from bench.core.knobs import knob
from bench.core.method import BuiltMethod, SearchRange, learning_rate_knob, register_method
from bench.core.models import ModelRef
from bench.core.task import TaskSpec
from methods.heads import PooledConfig
from methods.lora import TARGETS_HELP
from methods.peft_adapter import build_from_peft_config


@dataclass(frozen=True)
class VeraMethodConfig(PooledConfig):
    """VeRA's knobs: the shared random matrices' rank and the scaling vector's start."""

    learning_rate: float = learning_rate_knob(4e-3)
    rank: int = knob(256, "rank of the shared random matrices (peft's default 256)", at_least=1)
    d_initial: float = knob(0.1, "initial value of the d vector, which scales each layer's output (peft's "
                                 "default)", above=0)
    dropout: float = knob(0.0, "dropout on the update's input", at_least=0, at_most=0.99)
    target_modules: tuple[str, ...] = knob(("query", "value"), TARGETS_HELP)


VERA_SPACE = (SearchRange("rank", ("256", "1024"),
                          "peft's default r=256; the VeRA paper (Kopiczko et al. 2024) uses "
                          "r=1024 for RoBERTa-base on GLUE"),)


def peft_config(config: VeraMethodConfig, encoder: nn.Module) -> Any:
    from peft import TaskType, VeraConfig

    return VeraConfig(task_type=TaskType.FEATURE_EXTRACTION, r=config.rank, d_initial=config.d_initial,
                      vera_dropout=config.dropout, save_projection=False,
                      target_modules=family_of(encoder).projections(config.target_modules))


@register_method("vera", config=VeraMethodConfig, peer="peer_vera", search_space=VERA_SPACE)
def build_vera(config: VeraMethodConfig, *, model: ModelRef, task: TaskSpec, max_length: int) -> BuiltMethod:
    """VeRA (peft): shared frozen random low-rank matrices, scaled by trained vectors per layer."""
    return build_from_peft_config(config, peft_config, model=model, task=task, max_length=max_length,
                                  trains=("vera_lambda_b", "vera_lambda_d"))
