"""OFT (peft): every adapted projection's input turned by a learned block-diagonal orthogonal matrix
(Cayley parametrisation), which keeps the angles between its weights' neurons."""

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

OFT_SPACE = (SearchRange("block_size", ("16", "32", "64"),
                         "peft's default oft_block_size 32 with one halving and one "
                         "doubling (each divides 384, 768 and 1024)"),)


@dataclass(frozen=True)
class OftMethodConfig(PooledConfig):
    learning_rate: float = learning_rate_knob(2e-3)
    block_size: int = knob(32, "side of each orthogonal block (peft oft_block_size, default 32); peft "
                               "adjusts it, with a warning, where it does not divide a layer's input width",
                           at_least=2)
    coft: bool = knob(False, "constrained OFT: the rotation stays within eps of the identity")
    dropout: float = knob(0.0, "multiplicative dropout: blocks set to the identity during training",
                          at_least=0, at_most=0.99)
    target_modules: tuple[str, ...] = knob(("query", "value"), TARGETS_HELP)


def peft_config(config: OftMethodConfig, encoder: nn.Module) -> Any:
    from peft import OFTConfig, TaskType

    return OFTConfig(task_type=TaskType.FEATURE_EXTRACTION, r=0, oft_block_size=config.block_size,
                     coft=config.coft, module_dropout=config.dropout,
                     target_modules=family_of(encoder).projections(config.target_modules))


@register_method("oft", config=OftMethodConfig, peer="peer_oft", search_space=OFT_SPACE)
def build_oft(config: OftMethodConfig, *, model: ModelRef, task: TaskSpec, max_length: int) -> BuiltMethod:
    """OFT (peft): a learned block-diagonal orthogonal transform of each adapted projection's input."""
    return build_from_peft_config(config, peft_config, model=model, task=task, max_length=max_length,
                                  trains=("oft_R",))
