"""Peer configurations: plain PyTorch + peft as a user would write them, for side-by-side perf."""

from __future__ import annotations

import inspect
from collections.abc import Callable

import torch
from torch import nn

from bench.core.device import DeviceChoice
from bench.core.errors import BenchError
from bench.core.loading import get_peft_model_quietly, load_sequence_classifier, model_family
from bench.core.method import METHODS, MethodConfig
from bench.core.models import ModelRef


def mirrored_config(peer: str) -> MethodConfig:
    """The configuration a peer mirrors: the defaults of the first method (by name) that names it,
    with the knobs of that method's perf variant for this peer where it has one (p_tuning_mlp)."""
    for name in METHODS:
        spec = METHODS.get(name)
        variants = [variant for variant in spec.perf_variants.values() if variant.peer == peer]
        if spec.peer == peer or variants:
            knobs = dict(variants[0].knobs) if variants else {}
            return spec.make_config(knobs)
    raise BenchError(f"no registered method names the perf peer {peer}")


def _peft_config(name: str, model: ModelRef):
    from peft import LoraConfig, PrefixTuningConfig, PromptEncoderConfig, PromptTuningConfig, TaskType

    config = mirrored_config(name)
    if name == "peer_lora":
        return LoraConfig(task_type=TaskType.SEQ_CLS, r=config.rank, lora_alpha=config.alpha,
                          lora_dropout=config.dropout,
                          target_modules=model_family(model).projections(config.target_modules))
    if name == "peer_prompt_tuning":
        return PromptTuningConfig(task_type=TaskType.SEQ_CLS, num_virtual_tokens=config.prompt_length)
    if name == "peer_p_tuning":
        return PromptEncoderConfig(task_type=TaskType.SEQ_CLS, num_virtual_tokens=config.prompt_length)
    return PrefixTuningConfig(task_type=TaskType.SEQ_CLS, num_virtual_tokens=config.prefix_length)


# the reference rows; methods name theirs in their registration (peer=...)
PEERS = ("peer_full_ft", "peer_lora", "peer_prompt_tuning", "peer_p_tuning", "peer_prefix_tuning")


def build_peer(name: str, model: ModelRef, n_labels: int) -> nn.Module:
    """An fp32 sequence classifier, wrapped by peft unless the peer is full fine-tuning."""
    classifier = load_sequence_classifier(model, n_labels)
    if name == "peer_full_ft":
        return classifier
    if name == "peer_prefix_tuning":
        expose_past_key_values(classifier)
    return get_peft_model_quietly(classifier, _peft_config(name, model))


def cache_argument(backbone: nn.Module) -> str:
    """The name under which the backbone's forward takes past keys/values: `cache` from
    transformers 5.24, `past_key_values` before."""
    parameters = inspect.signature(backbone.forward).parameters
    for name in ("cache", "past_key_values"):
        if name in parameters:
            return name
    raise TypeError(f"{type(backbone).__name__}.forward takes neither cache nor past_key_values")


def expose_past_key_values(classifier: nn.Module) -> None:
    """peft (0.21) decides that a model supports prefix tuning by finding `past_key_values` in the
    signature of its forward; from transformers 5.24 the backbone calls it `cache`. The classifier
    gets a forward that takes `past_key_values` and hands it on under the backbone's own name."""
    if "past_key_values" in inspect.signature(classifier.forward).parameters:
        return
    forward, name = classifier.forward, cache_argument(classifier.base_model)

    def forward_taking_past_key_values(*args, past_key_values=None, **kwargs):
        return forward(*args, **{name: past_key_values}, **kwargs)

    classifier.forward = forward_taking_past_key_values


def plain_train_step(model: nn.Module, device: DeviceChoice) -> Callable[[dict[str, torch.Tensor]], None]:
    """The textbook loop: default AdamW, autocast forward, loss from the model, backward, step."""
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)

    def step(batch: dict[str, torch.Tensor]) -> None:
        model.train()
        with device.autocast():
            loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    return step
