"""AdaLoRA (peft): SVD-shaped low-rank updates P diag(E) Q whose rank budget shrinks during training
from init_rank to rank per module on average, the least important singular values masked. Its
schedule needs the cell's step count, which the loop gives through the built method's step hooks."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from bench.core.errors import BenchError
from bench.core.family import Capability, ModuleRole
from bench.core.knobs import knob
from bench.core.method import BuiltMethod, SearchRange, StepHooks, learning_rate_knob, register_method
from bench.core.models import ModelRef
from bench.core.task import TaskSpec
from methods.heads import PooledConfig
from methods.lora import LORA_FAMILY
from methods.peft_adapter import build_from_peft_config, module_names

# the paper adapts every weight matrix of a layer: Wq, Wk, Wv, Wo, Wf1, Wf2
EVERY_MATRIX = (ModuleRole.QUERY, ModuleRole.KEY, ModuleRole.VALUE, ModuleRole.OUTPUT, ModuleRole.FFN_IN,
                ModuleRole.FFN_OUT)
PLACEHOLDER_STEPS = 1000  # peft wants a step count when the model is built; the loop's replaces it


@dataclass(frozen=True)
class AdaLoraMethodConfig(PooledConfig):
    learning_rate: float = learning_rate_knob(2e-3)
    rank: int = knob(8, "average rank per module at the end (peft target_r)", at_least=1)
    init_rank_ratio: float = knob(1.5, "starting rank as a multiple of rank (peft init_r; the paper's "
                                       "b(0) = 1.5 b(T))", at_least=1)
    alpha: int = knob(16, "scaling alpha (peft lora_alpha)", at_least=1)
    dropout: float = knob(0.1, "dropout on the update's input", at_least=0, at_most=0.99)
    warmup_share: float = knob(0.1, "share of the steps before the budget starts to shrink (peft tinit)",
                               at_least=0, at_most=0.9)
    final_share: float = knob(0.2, "share of the last steps at the final budget (peft tfinal)", at_least=0,
                              at_most=0.9)
    interval: int = knob(1, "steps between two budget allocations (peft deltaT)", at_least=1)
    orth_reg_weight: float = knob(0.5, "weight of the orthogonality penalty on P and Q", at_least=0)
    targets: tuple[ModuleRole, ...] = knob(EVERY_MATRIX, "the modules adapted, by role (each family's own)")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.warmup_share + self.final_share >= 1:
            raise BenchError(f"warmup_share + final_share is {self.warmup_share + self.final_share:g}: "
                             f"keep them under 1 so that the budget has steps to shrink in")

    @property
    def init_rank(self) -> int:
        return math.ceil(self.rank * self.init_rank_ratio)


def peft_config(config: AdaLoraMethodConfig, encoder: nn.Module) -> Any:
    from peft import AdaLoraConfig, TaskType

    return AdaLoraConfig(task_type=TaskType.FEATURE_EXTRACTION, target_r=config.rank, init_r=config.init_rank,
                         lora_alpha=config.alpha, lora_dropout=config.dropout, deltaT=config.interval,
                         orth_reg_weight=config.orth_reg_weight, total_step=PLACEHOLDER_STEPS,
                         target_modules=module_names(encoder, config.targets))


def rank_schedule(peft_model: nn.Module, config: AdaLoraMethodConfig) -> StepHooks:
    """The loop's hooks: the schedule set from the cell's step count, the orthogonality penalty on every
    step's loss, and the budget allocated after every step (while the gradients are held)."""
    tuner = peft_model.base_model
    schedule = tuner.peft_config[tuner.trainable_adapter_name]

    def start(total_steps: int) -> None:
        # the final allocation reads importance scores, so at least one step must update them before it:
        # a cell of one step (a smoke test) runs the schedule as if it had two, never reaching the end
        total = max(total_steps, 2)
        schedule.total_step = total
        schedule.tfinal = min(int(config.final_share * total), total - 2)
        schedule.tinit = min(int(config.warmup_share * total), total - 2 - schedule.tfinal)

    def penalty() -> torch.Tensor:
        return config.orth_reg_weight * orthogonality(peft_model)

    return StepHooks(start=start, penalty=penalty if config.orth_reg_weight else None,
                     after_step=tuner.update_and_allocate)


def orthogonality(peft_model: nn.Module) -> torch.Tensor:
    """The mean over P and Q matrices of ||P P^T - I||_F (Q^T Q for Q), as peft adds it to a loss."""
    norms = []
    for name, parameter in peft_model.named_parameters():
        if ("lora_A" in name or "lora_B" in name) and parameter.requires_grad:
            gram = parameter @ parameter.T if "lora_A" in name else parameter.T @ parameter
            norms.append(torch.linalg.matrix_norm(gram - torch.eye(*gram.shape, device=gram.device)))
    return torch.stack(norms).mean()


@register_method("adalora", config=AdaLoraMethodConfig, peer="peer_adalora",
                 needs=(Capability.FEED_FORWARD,), search_groups=(LORA_FAMILY,),
                 search_space=(SearchRange("rank", ("2", "4", "8"),
                                           "peft's default target_r=8 (init_r 12: the paper's b(0) = "
                                           "1.5 b(T)), halved twice for smaller final budgets"),))
def build_adalora(config: AdaLoraMethodConfig, *, model: ModelRef, task: TaskSpec,
                  max_length: int) -> BuiltMethod:
    """AdaLoRA (peft): SVD-shaped LoRA on every weight matrix, its rank budget pruned during training."""
    built = build_from_peft_config(config, peft_config, model=model, task=task, max_length=max_length,
                                   trains=("lora_A", "lora_B", "lora_E"))
    built.step_hooks = rank_schedule(built.model.encoder, config)
    return built
