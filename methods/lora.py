"""LoRA (peft): low-rank updates of the attention projections, the reference PEFT baseline."""

from __future__ import annotations

from dataclasses import dataclass

from bench.core.knobs import knob
from bench.core.loading import model_family
from bench.core.method import BuiltMethod, SearchRange, learning_rate_knob, register_method
from bench.core.models import ModelRef
from bench.core.task import TaskSpec
from methods.heads import PooledConfig
from methods.peft_adapter import build_peft_classifier

TARGETS_HELP = ("the projections that get an update: query, key, value, output (each family's own "
                "modules, e.g. DeBERTa query_proj, DistilBERT q_lin, ModernBERT's fused Wqkv), or module "
                "names as peft matches them")


@dataclass(frozen=True)
class LoraMethodConfig(PooledConfig):
    learning_rate: float = learning_rate_knob(2e-3)
    rank: int = knob(8, "rank r of the low-rank update B @ A", at_least=1)
    alpha: int = knob(16, "scaling alpha (the update is scaled by alpha / r)", at_least=1)
    dropout: float = knob(0.1, "dropout on the LoRA input", at_least=0, at_most=0.99)
    target_modules: tuple[str, ...] = knob(("query", "value"), TARGETS_HELP)


LORA_FAMILY = "lora_family"  # the named search space of LoRA and its variants
LORA_RANKS = SearchRange("rank", ("2", "8", "64"), "LoRA paper (Hu et al. 2021, Table 6) sweeps r in "
                                                   "{1, 2, 4, 8, 64}: low, the default, high")


@register_method("lora", config=LoraMethodConfig, peer="peer_lora", search_space=(LORA_RANKS,),
                 search_groups=(LORA_FAMILY,))
def build_lora(config: LoraMethodConfig, *, model: ModelRef, task: TaskSpec, max_length: int) -> BuiltMethod:
    """LoRA on the query/value projections (peft), backbone frozen, classifier head trains."""
    from peft import LoraConfig, TaskType

    targets = model_family(model).projections(config.target_modules)
    peft_config = LoraConfig(task_type=TaskType.FEATURE_EXTRACTION, r=config.rank, lora_alpha=config.alpha,
                             lora_dropout=config.dropout, target_modules=targets)
    return build_peft_classifier(peft_config, model=model, task=task, max_length=max_length,
                                 pooling=config.pooling, trains=("lora_A", "lora_B"))
