"""LoRA (peft): low-rank updates of the attention projections, the reference PEFT baseline."""

from __future__ import annotations

from dataclasses import dataclass

from bench.models import ModelRef
from methods.peft_adapter import build_peft_classifier
from methods.spec import BuiltMethod, MethodConfig, register_method
from tasks.spec import TaskSpec


@dataclass(frozen=True)
class LoraMethodConfig(MethodConfig):
    learning_rate: float = 2e-3
    rank: int = 8
    alpha: int = 16
    dropout: float = 0.1
    target_modules: tuple[str, ...] = ("query", "value")


@register_method("lora", config=LoraMethodConfig)
def build_lora(config: LoraMethodConfig, *, model: ModelRef, task: TaskSpec, max_length: int) -> BuiltMethod:
    """LoRA on the query/value projections (peft), backbone frozen, classifier head trains."""
    from peft import LoraConfig, TaskType

    peft_config = LoraConfig(task_type=TaskType.SEQ_CLS, r=config.rank, lora_alpha=config.alpha,
                             lora_dropout=config.dropout, target_modules=list(config.target_modules))
    return build_peft_classifier(peft_config, model=model, task=task, max_length=max_length,
                                 trains=("lora_A", "lora_B"))
