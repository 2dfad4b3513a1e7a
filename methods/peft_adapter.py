"""Shared builder for the peft-backed methods: a peft config applied to the bare encoder, read by
PETBench's own pooled classifier head (which trains; a pretrained pooler stays frozen)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from bench.core.errors import BenchError
from bench.core.family import ModuleRole, family_of
from bench.core.loading import get_peft_model_quietly
from bench.core.method import BuiltMethod
from bench.core.models import ModelRef
from bench.core.task import TaskSpec
from methods.heads import EncoderClassifier, Pooling, load_pooled_parts


def build_peft_classifier(peft_config, *, model: ModelRef, task: TaskSpec, max_length: int, pooling: Pooling,
                          trains: tuple[str, ...], token_types: bool = True) -> BuiltMethod:
    """peft's get_peft_model on the encoder (its weights frozen) and a trainable linear head.
    `peft_config` is a peft config, or a function of the loaded encoder that makes one (to name the
    family's own modules, see `module_names`)."""
    parts = load_pooled_parts(model, task, pooling=pooling, max_length=max_length)
    if parts.head.pooler is not None:
        parts.head.pooler.requires_grad_(False)
    if callable(peft_config):
        peft_config = peft_config(parts.encoder)
    if hasattr(peft_config, "token_dim"):
        _fill_prompt_shape(peft_config, parts.encoder)
    peft_encoder = get_peft_model_quietly(parts.encoder, peft_config)
    _autocast_adapted_projections(peft_encoder)
    return BuiltMethod(EncoderClassifier(peft_encoder, parts.head, token_types=token_types),
                       parts.input_encoder, trains=(*trains, "head.linear."), pooling=parts.describe())


def _autocast_adapted_projections(peft_encoder: nn.Module) -> None:
    """Under autocast an adapted Linear returns what the plain one would (the autocast dtype): some of
    peft's layers (VeRA, LoHa, LoKr, OFT) cast back to their fp32 input, and DeBERTa's attention then
    masks bf16 scores with fp32's minimum, which overflows."""
    from peft.tuners.tuners_utils import BaseTunerLayer

    for module in peft_encoder.modules():
        if isinstance(module, BaseTunerLayer) and isinstance(module.get_base_layer(), nn.Linear):
            module.register_forward_hook(_in_autocast_dtype)


def _in_autocast_dtype(module: nn.Module, inputs: tuple, output: torch.Tensor) -> torch.Tensor | None:
    kind = output.device.type
    if output.dtype == torch.float32 and torch.is_autocast_enabled(kind):
        return output.to(torch.get_autocast_dtype(kind))
    return None


def build_from_peft_config(config, make_config, *, model: ModelRef, task: TaskSpec, max_length: int,
                           trains: tuple[str, ...]) -> BuiltMethod:
    """A peft-backed method's model: make_config(config, encoder) applied to the encoder, pooled by the
    config's `pooling`."""
    return build_peft_classifier(lambda encoder: make_config(config, encoder), model=model, task=task,
                                 max_length=max_length, pooling=config.pooling, trains=trains)


def _fill_prompt_shape(peft_config, encoder) -> None:
    """peft reads the prompt's shape from config keys that not every family has (DistilBERT says
    `dim` and `n_heads`): take it from the family. Soft prompts live at the input embeddings, below
    ALBERT's and ELECTRA's projection to the hidden width."""
    layers, heads, _ = family_of(encoder).attention_shape(encoder.config)
    defaults = {"token_dim": encoder.get_input_embeddings().embedding_dim, "num_layers": layers,
                "num_attention_heads": heads}
    for name, value in defaults.items():
        if getattr(peft_config, name, None) is None:
            setattr(peft_config, name, value)


def module_names(encoder: nn.Module, roles: Sequence[ModuleRole]) -> list[str]:
    """Full names of the encoder's modules in these roles, as its family names them (peft matches a full
    name exactly, so BERT's feed-forward `output.dense` never catches `attention.output.dense`)."""
    names = family_of(encoder).module_names(encoder, roles)
    if not names:
        shown = ", ".join(role.value for role in roles)
        raise BenchError(f"{type(encoder).__name__} has no module with parameters in the roles {shown}")
    return names
