"""Prompt tuning (Lester et al., via peft): a soft prompt at the input embeddings only."""

from __future__ import annotations

from dataclasses import dataclass

from bench.models import ModelRef
from methods.peft_adapter import build_peft_classifier
from methods.spec import BuiltMethod, MethodConfig, register_method
from tasks.spec import TaskSpec

PROMPT_INITS = {"random": "RANDOM", "vocab": "SAMPLE_VOCAB"}  # our knob -> peft PromptTuningInit


@dataclass(frozen=True)
class PromptTuningMethodConfig(MethodConfig):
    learning_rate: float = 1e-2
    prompt_length: int = 20
    init: str = "vocab"  # vocab: embeddings of randomly sampled vocabulary tokens (Lester et al.); random

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.init not in PROMPT_INITS:
            raise ValueError(f"init must be one of {tuple(PROMPT_INITS)}, got {self.init!r}")


@register_method("prompt_tuning", config=PromptTuningMethodConfig)
def build_prompt_tuning(config: PromptTuningMethodConfig, *, model: ModelRef, task: TaskSpec,
                        max_length: int) -> BuiltMethod:
    """Soft prompt prepended to the input embeddings (peft), backbone frozen, head trains."""
    from peft import PromptTuningConfig, TaskType

    peft_config = PromptTuningConfig(task_type=TaskType.SEQ_CLS, num_virtual_tokens=config.prompt_length,
                                     prompt_tuning_init=PROMPT_INITS[config.init])
    return build_peft_classifier(peft_config, model=model, task=task, max_length=max_length,
                                 trains=("prompt_encoder",))
