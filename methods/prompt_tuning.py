"""Prompt tuning (Lester et al., via peft): a soft prompt at the input embeddings only."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bench.core.knobs import knob
from bench.core.method import BuiltMethod, learning_rate_knob, register_method
from bench.core.models import ModelRef
from bench.core.task import TaskSpec
from methods.heads import PooledConfig
from methods.peft_adapter import build_peft_classifier


class PromptInit(StrEnum):
    VOCAB = "vocab"  # embeddings of randomly sampled vocabulary tokens (Lester et al.; peft SAMPLE_VOCAB)
    RANDOM = "random"


_PEFT_INIT = {PromptInit.VOCAB: "SAMPLE_VOCAB", PromptInit.RANDOM: "RANDOM"}


@dataclass(frozen=True)
class PromptTuningMethodConfig(PooledConfig):
    learning_rate: float = learning_rate_knob(1e-2)
    prompt_length: int = knob(20, "soft-prompt vectors prepended to the input", at_least=1)
    init: PromptInit = knob(PromptInit.VOCAB, "vocab: start from embeddings of sampled vocabulary tokens; "
                                              "random: N(0, 1)")


@register_method("prompt_tuning", config=PromptTuningMethodConfig, peer="peer_prompt_tuning")
def build_prompt_tuning(config: PromptTuningMethodConfig, *, model: ModelRef, task: TaskSpec,
                        max_length: int) -> BuiltMethod:
    """Soft prompt prepended to the input embeddings (peft), backbone frozen, head trains."""
    from peft import PromptTuningConfig, TaskType

    peft_config = PromptTuningConfig(task_type=TaskType.FEATURE_EXTRACTION,
                                     num_virtual_tokens=config.prompt_length,
                                     prompt_tuning_init=_PEFT_INIT[config.init])
    return build_peft_classifier(peft_config, model=model, task=task, max_length=max_length,
                                 pooling=config.pooling, trains=("prompt_encoder",), token_types=False)
