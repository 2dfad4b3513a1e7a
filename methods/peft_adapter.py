"""Shared builder for the peft-backed methods: a peft config applied to the bare encoder, read by
PETBench's own pooled classifier head (which trains; a pretrained pooler stays frozen)."""

from __future__ import annotations

from bench.core.family import family_of
from bench.core.loading import get_peft_model_quietly
from bench.core.method import BuiltMethod
from bench.core.models import ModelRef
from bench.core.task import TaskSpec
from methods.heads import EncoderClassifier, Pooling, load_pooled_parts


def build_peft_classifier(peft_config, *, model: ModelRef, task: TaskSpec, max_length: int, pooling: Pooling,
                          trains: tuple[str, ...], token_types: bool = True) -> BuiltMethod:
    """peft's get_peft_model on the encoder (its weights frozen) and a trainable linear head."""
    parts = load_pooled_parts(model, task, pooling=pooling, max_length=max_length)
    if parts.head.pooler is not None:
        parts.head.pooler.requires_grad_(False)
    if hasattr(peft_config, "token_dim"):
        _fill_prompt_shape(peft_config, parts.encoder)
    peft_encoder = get_peft_model_quietly(parts.encoder, peft_config)
    return BuiltMethod(EncoderClassifier(peft_encoder, parts.head, token_types=token_types),
                       parts.input_encoder, trains=(*trains, "head.linear."), pooling=parts.describe())


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
