"""LoHa and LoKr (peft's LyCORIS methods): the weight update as a Hadamard product of two low-rank
products (LoHa) or a Kronecker product of a small matrix and a low-rank one (LoKr)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from torch import nn

from bench.core.family import family_of
from bench.core.knobs import knob
from bench.core.method import BuiltMethod, SearchRange, learning_rate_knob, register_method
from bench.core.models import ModelRef
from bench.core.task import TaskSpec
from methods.heads import PooledConfig
from methods.lora import LORA_FAMILY, TARGETS_HELP
from methods.peft_adapter import build_from_peft_config


@dataclass(frozen=True)
class LycorisConfig(PooledConfig):
    """The knobs LoHa and LoKr share (peft's LycorisConfig): a rank, its scaling and rank dropout."""

    learning_rate: float = learning_rate_knob(2e-3)
    rank: int = knob(8, "rank of the low-rank factors (peft's default 8)", at_least=1)
    alpha: int = knob(8, "scaling alpha (the update is scaled by alpha / r; peft's default 8)", at_least=1)
    rank_dropout: float = knob(0.0, "dropout on each rank of the update during training", at_least=0,
                               at_most=0.99)
    target_modules: tuple[str, ...] = knob(("query", "value"), TARGETS_HELP)


@dataclass(frozen=True)
class LohaConfig(LycorisConfig):
    adapter: ClassVar[str] = "loha"  # which of peft's two LyCORIS adapters the config builds


@dataclass(frozen=True)
class LokrConfig(LycorisConfig):
    adapter: ClassVar[str] = "lokr"


RANKS = SearchRange("rank", ("4", "8", "16"), "peft's default r=8 (LoHaConfig, LoKrConfig) with one "
                                              "doubling either side")


def peft_config(config: LycorisConfig, encoder: nn.Module) -> Any:
    from peft import LoHaConfig, LoKrConfig, TaskType

    kind = {"loha": LoHaConfig, "lokr": LoKrConfig}[config.adapter]
    return kind(task_type=TaskType.FEATURE_EXTRACTION, r=config.rank, alpha=config.alpha,
                rank_dropout=config.rank_dropout,
                target_modules=family_of(encoder).projections(config.target_modules))


def _build(config: LycorisConfig, model: ModelRef, task: TaskSpec, max_length: int,
           trains: tuple[str, ...]) -> BuiltMethod:
    return build_from_peft_config(config, peft_config, model=model, task=task, max_length=max_length,
                                  trains=trains)


@register_method("loha", config=LohaConfig, peer="peer_loha", search_space=(RANKS,),
                 search_groups=(LORA_FAMILY,))
def build_loha(config: LohaConfig, *, model: ModelRef, task: TaskSpec, max_length: int) -> BuiltMethod:
    """LoHa (peft): the update is the Hadamard product of two low-rank products."""
    return _build(config, model, task, max_length, trains=("hada_",))


@register_method("lokr", config=LokrConfig, peer="peer_lokr", search_space=(RANKS,),
                 search_groups=(LORA_FAMILY,))
def build_lokr(config: LokrConfig, *, model: ModelRef, task: TaskSpec, max_length: int) -> BuiltMethod:
    """LoKr (peft): the update is the Kronecker product of a small matrix and a low-rank one."""
    return _build(config, model, task, max_length, trains=("lokr_",))
