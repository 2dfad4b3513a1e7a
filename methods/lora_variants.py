"""The LoRA variants peft offers, each LoRA's knobs plus its own: DoRA (weight-decomposed updates),
rsLoRA (rank-stabilised scaling), LoRA with another initialisation (PiSSA, OLoRA, ...) and LoRA+
(a larger learning rate for B). They adapt the same modules as `lora` (its `target_modules`), so the
rows compare the variation alone."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from torch import nn

from bench.core.errors import BenchError
from bench.core.family import family_of
from bench.core.knobs import knob
from bench.core.method import BuiltMethod, SearchRange, learning_rate_knob, register_method
from bench.core.models import ModelRef
from bench.core.task import TaskSpec
from methods.lora import LORA_FAMILY, LoraMethodConfig
from methods.peft_adapter import build_from_peft_config

LORA_TRAINS = ("lora_A", "lora_B", "lora_magnitude_vector")


# each variant's own grid (--search default), with where its values come from
SPACES = {
    "dora": (SearchRange("rank", ("4", "8", "16"), "DoRA paper (Liu et al. 2024) compares r=8/16/32 "
                         "with LoRA and finds half of LoRA's rank enough: r=4 added below"),),
    "rslora": (SearchRange("rank", ("8", "32", "128"),
                           "rsLoRA (Kalajdzievski 2023): alpha/sqrt(r) keeps large ranks learning, so "
                           "the grid reaches beyond LoRA's ranks"),),
    "lora_init": (SearchRange("init", ("pissa", "olora", "gaussian"), "peft's docs "
                              "(LoraConfig.init_lora_weights): the initialisations that need only the "
                              "weights"),),
    "lora_plus": (SearchRange("lr_ratio", ("4", "16", "32"),
                              "LoRA+ paper (Hayou et al. 2024) and peft's docs: ratio 2^4 = 16 as the "
                              "default; one step of 4x and 2x either side"),),
}


class LoraInit(StrEnum):
    """peft's LoRA initialisations that need nothing but the weights (`init_lora_weights`)."""

    GAUSSIAN = "gaussian"  # A ~ N(0, 1/r), B = 0
    PISSA = "pissa"  # A, B from the top-r singular vectors of W (full SVD); W keeps the residual
    PISSA_FAST = "pissa_niter_4"  # PiSSA with a 4-iteration randomised SVD
    OLORA = "olora"  # A, B from W's QR decomposition; W keeps the residual
    ORTHOGONAL = "orthogonal"  # A, B orthogonal, W untouched (r even)


INIT_HELP = ("peft's init_lora_weights: gaussian, pissa (SVD of W; W keeps the residual), pissa_niter_4 "
             "(randomised SVD), olora (QR of W), orthogonal (r even). Not offered: eva and corda (a pass "
             "over the training data before the first step), loftq (quantisation), mica (freezes B)")


@dataclass(frozen=True)
class DoraConfig(LoraMethodConfig):
    pass


@dataclass(frozen=True)
class RsLoraConfig(LoraMethodConfig):
    pass


@dataclass(frozen=True)
class LoraInitConfig(LoraMethodConfig):
    init: LoraInit = knob(LoraInit.PISSA, INIT_HELP)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.init == LoraInit.ORTHOGONAL and self.rank % 2:
            raise BenchError(f"init=orthogonal needs an even rank, not {self.rank}")


@dataclass(frozen=True)
class LoraPlusConfig(LoraMethodConfig):
    # peft's create_loraplus_optimizer advises a learning rate about half of plain LoRA's
    learning_rate: float = learning_rate_knob(1e-3)
    lr_ratio: float = knob(16.0, "learning rate of B over A's (LoRA+'s lambda; peft's loraplus_lr_ratio)",
                           at_least=1)


def peft_config(config: LoraMethodConfig, encoder: nn.Module) -> Any:
    """The peft LoraConfig of any LoRA variant, on the encoder's own projection modules."""
    from peft import LoraConfig, TaskType

    extra: dict[str, Any] = {}
    if isinstance(config, DoraConfig):
        extra["use_dora"] = True
    if isinstance(config, RsLoraConfig):
        extra["use_rslora"] = True
    if isinstance(config, LoraInitConfig):
        extra["init_lora_weights"] = config.init.value
    targets = family_of(encoder).projections(config.target_modules)
    return LoraConfig(task_type=TaskType.FEATURE_EXTRACTION, r=config.rank, lora_alpha=config.alpha,
                      lora_dropout=config.dropout, target_modules=targets, **extra)


def _build(config: LoraMethodConfig, model: ModelRef, task: TaskSpec, max_length: int) -> BuiltMethod:
    return build_from_peft_config(config, peft_config, model=model, task=task, max_length=max_length,
                                  trains=LORA_TRAINS)


@register_method("dora", config=DoraConfig, peer="peer_dora", search_groups=(LORA_FAMILY,),
                 search_space=SPACES["dora"])
def build_dora(config: DoraConfig, *, model: ModelRef, task: TaskSpec, max_length: int) -> BuiltMethod:
    """DoRA (peft use_dora): LoRA's direction update plus a trained magnitude per output column."""
    return _build(config, model, task, max_length)


@register_method("rslora", config=RsLoraConfig, peer="peer_rslora", search_groups=(LORA_FAMILY,),
                 search_space=SPACES["rslora"])
def build_rslora(config: RsLoraConfig, *, model: ModelRef, task: TaskSpec, max_length: int) -> BuiltMethod:
    """rsLoRA (peft use_rslora): LoRA scaled by alpha / sqrt(r) instead of alpha / r."""
    return _build(config, model, task, max_length)


@register_method("lora_init", config=LoraInitConfig, peer="peer_lora_init", search_groups=(LORA_FAMILY,),
                 search_space=SPACES["lora_init"])
def build_lora_init(config: LoraInitConfig, *, model: ModelRef, task: TaskSpec,
                    max_length: int) -> BuiltMethod:
    """LoRA from another initialisation (PiSSA, OLoRA, Gaussian, orthogonal: the `init` knob)."""
    return _build(config, model, task, max_length)


# LoRA+'s model is LoRA's (only the optimiser differs): its perf peer is peft's LoRA
@register_method("lora_plus", config=LoraPlusConfig, peer="peer_lora", search_groups=(LORA_FAMILY,),
                 search_space=SPACES["lora_plus"])
def build_lora_plus(config: LoraPlusConfig, *, model: ModelRef, task: TaskSpec,
                    max_length: int) -> BuiltMethod:
    """LoRA+: LoRA whose B matrices (and 1-d parameters) train at lr_ratio x the learning rate."""
    built = _build(config, model, task, max_length)
    return replace(built, learning_rate_factors=loraplus_factors(built.model, config.lr_ratio))


def loraplus_factors(model: nn.Module, ratio: float) -> tuple[tuple[str, float], ...]:
    """Each trainable parameter's learning-rate factor as peft's create_loraplus_optimizer groups them
    (read from the optimiser it makes, so the grouping is peft's own), by full name."""
    import torch
    from peft.optimizers import create_loraplus_optimizer

    optimizer = create_loraplus_optimizer(model, torch.optim.SGD, lr=1.0, loraplus_lr_ratio=ratio)
    factor_of = {id(parameter): group["lr"] for group in optimizer.param_groups
                 for parameter in group["params"]}
    return tuple((name, factor_of[id(parameter)]) for name, parameter in model.named_parameters()
                 if parameter.requires_grad and factor_of.get(id(parameter), 1.0) != 1.0)
