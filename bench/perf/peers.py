"""Peer configurations: plain PyTorch + peft as a user would write them, for side-by-side perf."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from bench.core.device import DeviceChoice
from bench.core.errors import BenchError
from bench.core.loading import get_peft_model_quietly, load_sequence_classifier, model_family
from bench.core.method import METHODS, MethodConfig
from bench.core.models import ModelRef
from methods import adalora, beft, ia3, ln_tuning, lora_variants, lycoris, oft, vera

# peers that are peft's own model for a method whose build is peft's: the method module's peft config
# (the same modules, knobs at the method's defaults) on transformers' sequence classifier
PEFT_METHOD_PEERS: dict[str, Callable[[Any, nn.Module], Any]] = {
    "peer_dora": lora_variants.peft_config, "peer_rslora": lora_variants.peft_config,
    "peer_lora_init": lora_variants.peft_config, "peer_adalora": adalora.peft_config,
    "peer_ia3": ia3.peft_config, "peer_vera": vera.peft_config, "peer_loha": lycoris.peft_config,
    "peer_lokr": lycoris.peft_config, "peer_oft": oft.peft_config, "peer_ln_tuning": ln_tuning.peft_config,
    "peer_beft": beft.peft_config,
}


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


def _peft_config(name: str, model: ModelRef, classifier: nn.Module | None = None):
    from peft import LoraConfig, PrefixTuningConfig, PromptEncoderConfig, PromptTuningConfig, TaskType

    config = mirrored_config(name)
    if name in PEFT_METHOD_PEERS:
        classifier = classifier or load_sequence_classifier(model, 2)
        # the method's own peft config, on the classifier's encoder, with peft's classification head
        made = PEFT_METHOD_PEERS[name](config, classifier.base_model)
        return dataclasses.replace(made, task_type=TaskType.SEQ_CLS)
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
PEERS = ("peer_full_ft", "peer_lora", "peer_prompt_tuning", "peer_p_tuning", "peer_prefix_tuning",
         *PEFT_METHOD_PEERS)


def build_peer(name: str, model: ModelRef, n_labels: int) -> nn.Module:
    """An fp32 sequence classifier, wrapped by peft unless the peer is full fine-tuning."""
    classifier = load_sequence_classifier(model, n_labels)
    if name == "peer_full_ft":
        return classifier
    if name == "peer_prefix_tuning":
        expose_past_key_values(classifier)
    return get_peft_model_quietly(classifier, _peft_config(name, model, classifier))


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
    """The textbook loop: default AdamW, autocast forward, loss from the model, backward, step (and
    AdaLoRA's budget allocation after it, as peft's docs write the loop)."""
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)
    tuner = model.base_model if hasattr(model, "peft_config") else None
    allocate = getattr(tuner, "update_and_allocate", None)
    steps = 0

    def step(batch: dict[str, torch.Tensor]) -> None:
        nonlocal steps
        model.train()
        with device.autocast():
            loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        steps += 1
        if allocate is not None:
            allocate(steps)
        optimizer.zero_grad(set_to_none=True)

    return step
