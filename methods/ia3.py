"""(IA)^3 (peft): learned vectors that rescale the keys, the values and the feed-forward block's inner
activations (the input of its second projection) in every layer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from torch import nn

from bench.core.family import Capability, ModuleRole
from bench.core.knobs import knob
from bench.core.method import BuiltMethod, SearchRange, learning_rate_knob, register_method
from bench.core.models import ModelRef
from bench.core.task import TaskSpec
from methods.heads import PooledConfig
from methods.peft_adapter import build_from_peft_config, module_names

FEED_FORWARD = (ModuleRole.FFN_IN, ModuleRole.FFN_OUT)


@dataclass(frozen=True)
class IA3Config(PooledConfig):
    learning_rate: float = learning_rate_knob(3e-3)
    targets: tuple[ModuleRole, ...] = knob(
        (ModuleRole.KEY, ModuleRole.VALUE, ModuleRole.FFN_OUT),
        "the modules rescaled, by role: attention projections scale their output, feed-forward ones "
        "(ffn_in, ffn_out) their input, as the paper rescales the inner activations")


def peft_config(config: IA3Config, encoder: nn.Module) -> Any:
    from peft import IA3Config as PeftIA3Config
    from peft import TaskType

    feed_forward = [role for role in config.targets if role in FEED_FORWARD]
    return PeftIA3Config(task_type=TaskType.FEATURE_EXTRACTION,
                         target_modules=module_names(encoder, config.targets),
                         feedforward_modules=module_names(encoder, feed_forward) if feed_forward else [])


IA3_SPACE = (SearchRange("learning_rate", ("1e-3", "3e-3", "1e-2"),
                         "T-Few paper (Liu et al. 2022) trains (IA)^3 at 3e-3; a step of "
                         "about 3x either side"),)


@register_method("ia3", config=IA3Config, peer="peer_ia3", needs=(Capability.FEED_FORWARD,),
                 search_space=IA3_SPACE)
def build_ia3(config: IA3Config, *, model: ModelRef, task: TaskSpec, max_length: int) -> BuiltMethod:
    """(IA)^3 (peft): learned rescaling of keys, values and feed-forward activations."""
    return build_from_peft_config(config, peft_config, model=model, task=task, max_length=max_length,
                                  trains=("ia3_l",))
