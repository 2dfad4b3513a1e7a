"""Encoder families: one entry per architecture says where a loaded model keeps what the methods
reach into (layer stack, attention, MLM head, pooler, token types, positions). Methods ask the family
of their model and never name one; the built-in families are the `families` package, and a plugin
adds one with `register_family`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

import torch
from torch import nn

from bench.core.errors import BenchError
from bench.core.registry import Registry


class Capability(StrEnum):
    """What a method may need of a family beyond a plain forward pass."""

    MLM_HEAD = "mlm_head"  # a masked-LM head to score label words at [MASK]
    LAYERS = "layers"  # the layer stack, run over a chosen range of layers
    PREFIX_ATTENTION = "prefix_attention"  # per-layer key/value prefixes in every attention layer
    FEED_FORWARD = "feed_forward"  # named feed-forward projections in every layer (ModuleRole.FFN_*)
    NORMS = "norms"  # named normalisation modules in every layer (ModuleRole.*_NORM)
    BIASES = "biases"  # bias terms in the layers' projections and norms


class ModuleRole(StrEnum):
    """The modules of a transformer layer that parameter-efficient methods adapt; each family names
    its own module for each role (`EncoderFamily.module_names`)."""

    QUERY = "query"
    KEY = "key"
    VALUE = "value"
    OUTPUT = "output"  # attention's output projection
    FFN_IN = "ffn_in"  # the feed-forward block's first (up) projection
    FFN_OUT = "ffn_out"  # the feed-forward block's second (down) projection
    ATTENTION_NORM = "attention_norm"  # the norm around the attention block
    FFN_NORM = "ffn_norm"  # the norm around the feed-forward block


class TokenizerKind(StrEnum):
    """How the family's checkpoints split text (the tiny test models use the same kind)."""

    WORDPIECE = "wordpiece"
    BYTE_BPE = "byte-level BPE"
    SENTENCEPIECE = "sentencepiece"


@dataclass(frozen=True)
class MlmHeadParts:
    """A masked-LM head (hidden states -> vocabulary logits) and its output layer inside it, whose
    `weight` (vocab, width) and `bias` (vocab) rows are the vocabulary's logits (tied to the input
    embeddings where the model ties them); decoder None where the head has no such layer."""

    head: nn.Module
    decoder: nn.Module | None


class LayerStack(Protocol):
    """The embeddings and the layers of one loaded encoder, callable over any range of layers.

    Position i is the i-th layer application (ALBERT's one shared layer counts once per position)."""

    n_layers: int
    width: int

    def embed(self, *, input_ids: torch.Tensor | None = None, inputs_embeds: torch.Tensor | None = None,
              token_type_ids: torch.Tensor | None = None,
              attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        """The input of layer 0 for token ids or word vectors."""

    def run(self, hidden: torch.Tensor, attention_mask: torch.Tensor, *, start: int = 0,
            stop: int | None = None) -> torch.Tensor:
        """Layers start..stop-1 over a (batch, seq) padding mask; the family's final step (e.g. a
        last LayerNorm) is applied when stop is the top."""

    def hidden_states(self, hidden: torch.Tensor, attention_mask: torch.Tensor, *,
                      up_to: int) -> list[torch.Tensor]:
        """[layer 0 input, layer 1 input, ..., output of layer up_to]; higher layers never run."""

    def modules_below(self, layer: int) -> list[nn.Module]:
        """The modules that compute the input of `layer` (embeddings and the layers under it)."""


@dataclass(frozen=True)
class FamilyInfo:
    """What a family entry declares about itself, for validation, `list --families` and the docs."""

    name: str
    model_types: tuple[str, ...]  # config.model_type values it serves
    tokenizer: TokenizerKind
    checkpoints: tuple[str, ...] = ()  # hub ids a user would pick
    notes: str = ""  # what to expect of them with PETBench's methods
    lacks: Mapping[Capability, str] = field(default_factory=dict)  # capability -> why it is missing


class EncoderFamily(Protocol):
    """The interface every family entry implements; `families.bert_like` is the common base."""

    info: FamilyInfo

    def mlm_head(self, masked_lm: nn.Module) -> MlmHeadParts: ...

    def after_load(self, model: nn.Module) -> None:
        """Fix what a freshly loaded model gets wrong for training (a table that never trains but
        requires grad, say)."""

    def loads_pooler(self, config) -> bool:
        """Whether the bare model is built with a pooler (`add_pooling_layer`)."""

    def take_pooler(self, encoder: nn.Module) -> nn.Module | None:
        """Detach the encoder's pooler (so its forward never runs it) as a module over (batch, seq,
        width) hidden states -> (batch, width); None where the encoder has none."""

    def token_types(self, config) -> bool:
        """Whether the encoder's forward takes token_type_ids."""

    def max_positions(self, config) -> int | None:
        """The longest input in tokens, None where positions are not bounded by a table."""

    def layer_stack(self, encoder: nn.Module) -> LayerStack: ...

    def attention_shape(self, config) -> tuple[int, int, int]:
        """(layer positions, heads, head dim) of the key/value prefixes."""

    def install_prefix_attention(self, encoder: nn.Module) -> None:
        """Make every attention layer attend to the active prefixes as well (bench.core.prefixes)."""

    def projections(self, names: Sequence[str]) -> list[str]:
        """Module names of the attention projections called query / key / value / output here
        (LoRA's targets); a name the family does not map is kept as given."""

    def module_names(self, encoder: nn.Module, roles: Sequence[ModuleRole]) -> list[str]:
        """Full names (as `encoder.named_modules()` gives them) of every layer's modules in these roles,
        each once, in layer order; a role whose module has no parameters in a layer is skipped there."""

    def checkpoint_facts(self, config, location: str) -> tuple[str, ...]:
        """Facts of this checkpoint that change what a number means (shown in the report)."""

    def tiny_masked_lm(self, vocab_size: int, special_ids: Mapping[str, int]) -> nn.Module:
        """A 4-layer, 64-wide masked LM of this family with random weights (tests, the matrix)."""


FIXED = "_petbench_fixed"


def fix_parameters(module: nn.Module) -> None:
    """Freeze a module's parameters for good (a sinusoid table): no method trains them, even with
    every parameter claimed."""
    for parameter in module.parameters():
        parameter.requires_grad_(False)
        setattr(parameter, FIXED, True)


def is_fixed(parameter: nn.Parameter) -> bool:
    return getattr(parameter, FIXED, False)


FAMILIES: Registry[EncoderFamily] = Registry("encoder family")


def register_family(family: EncoderFamily) -> EncoderFamily:
    """Register a family entry under its name (a plugin file calls this once per family); a model_type
    is served by one family only, so that which one reads a checkpoint is never a matter of order."""
    new = family.info
    for name in FAMILIES:
        claimed = sorted(set(new.model_types) & set(FAMILIES.get(name).info.model_types))
        if claimed and name != new.name:
            raise BenchError(f"encoder family {new.name!r} claims model_type {claimed[0]!r}, which family "
                             f"{name!r} already serves: drop {claimed[0]!r} from {new.name}'s model_types, "
                             f"or give its checkpoints a model_type of their own")
    return FAMILIES.add(family.info.name, family)


def family_for_config(config) -> EncoderFamily:
    """The family serving a transformers config (its model_type)."""
    model_type = getattr(config, "model_type", "")
    for name in FAMILIES:
        if model_type in FAMILIES.get(name).info.model_types:
            return FAMILIES.get(name)
    known = ", ".join(sorted(FAMILIES.get(name).info.name for name in FAMILIES))
    raise BenchError(f"no encoder family serves model_type {model_type!r} (families: {known}); "
                     f"use a model of a listed family, or register one in a plugin (see README)")


def family_of(model: nn.Module) -> EncoderFamily:
    return family_for_config(model.config)


def refusal(family: EncoderFamily, needs: Sequence[Capability]) -> str | None:
    """Why a method needing these capabilities cannot run on the family, or None."""
    reasons = [family.info.lacks[need] for need in needs if need in family.info.lacks]
    return "; ".join(reasons) or None
