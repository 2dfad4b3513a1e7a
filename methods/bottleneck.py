"""Bottleneck adapters, written against the family interface (no `adapters` library: it pins its own
transformers range): a small down-projection, a non-linearity and an up-projection added to a
sub-layer's output before its residual connection. Houlsby places one after the attention output
projection and one after the feed-forward output in every layer; Pfeiffer only the second."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import torch
from torch import nn

from bench.core.family import Capability, ModuleRole, family_of
from bench.core.knobs import knob
from bench.core.method import BuiltMethod, SearchRange, learning_rate_knob, register_method
from bench.core.models import ModelRef
from bench.core.task import TaskSpec
from methods.heads import EncoderClassifier, PooledConfig, load_pooled_parts

HOULSBY_PLACES = (ModuleRole.OUTPUT, ModuleRole.FFN_OUT)
PFEIFFER_PLACES = (ModuleRole.FFN_OUT,)
SIZES = SearchRange("size", ("8", "64", "256"), "Houlsby et al. 2019 (§3.1): adapter sizes {8, 64, 256}; "
                                                "kept for Pfeiffer's placement, which it was compared with")


class Activation(StrEnum):
    RELU = "relu"
    GELU = "gelu"
    SWISH = "swish"


ACTIVATIONS = {Activation.RELU: nn.ReLU, Activation.GELU: nn.GELU, Activation.SWISH: nn.SiLU}


class BottleneckAdapter(nn.Module):
    """A projection followed by h + up(act(down(h))); up starts at zero, so the adapted model starts
    as the pretrained one (as LoRA's B does)."""

    def __init__(self, projection: nn.Linear, size: int, activation: Activation) -> None:
        super().__init__()
        self.projection = projection
        self.adapter_down = nn.Linear(projection.out_features, size)
        self.activation = ACTIVATIONS[activation]()
        self.adapter_up = nn.Linear(size, projection.out_features)
        nn.init.normal_(self.adapter_down.weight, std=1e-2)
        nn.init.zeros_(self.adapter_down.bias)
        nn.init.zeros_(self.adapter_up.weight)
        nn.init.zeros_(self.adapter_up.bias)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        hidden = self.projection(hidden)
        return hidden + self.adapter_up(self.activation(self.adapter_down(hidden)))


def insert_adapters(encoder: nn.Module, places: Sequence[ModuleRole], *, size: int,
                    activation: Activation) -> int:
    """Wrap every layer's modules in these roles (the family's own) with an adapter; how many."""
    names = family_of(encoder).module_names(encoder, places)
    for name in names:
        parent_name, _, child = name.rpartition(".")
        parent = encoder.get_submodule(parent_name)
        setattr(parent, child, BottleneckAdapter(getattr(parent, child), size, activation))
    return len(names)


@dataclass(frozen=True)
class BottleneckConfig(PooledConfig):
    learning_rate: float = learning_rate_knob(1e-3)
    size: int = knob(64, "bottleneck width of each adapter (Houlsby et al.'s adapter size)", at_least=1)


@dataclass(frozen=True)
class HoulsbyConfig(BottleneckConfig):
    activation: Activation = knob(Activation.SWISH, "the adapter's non-linearity (the adapters library's "
                                                    "default for Houlsby adapters: swish)")


@dataclass(frozen=True)
class PfeifferConfig(BottleneckConfig):
    activation: Activation = knob(Activation.RELU, "the adapter's non-linearity (the adapters library's "
                                                   "default for Pfeiffer adapters: relu)")


def _build(config: HoulsbyConfig | PfeifferConfig, places: Sequence[ModuleRole], model: ModelRef,
           task: TaskSpec, max_length: int) -> BuiltMethod:
    parts = load_pooled_parts(model, task, pooling=config.pooling, max_length=max_length)
    parts.encoder.requires_grad_(False)
    if parts.head.pooler is not None:
        parts.head.pooler.requires_grad_(False)
    insert_adapters(parts.encoder, places, size=config.size, activation=config.activation)
    return BuiltMethod(EncoderClassifier(parts.encoder, parts.head), parts.input_encoder,
                       trains=(".adapter_down.", ".adapter_up.", "head.linear."), pooling=parts.describe())


@register_method("houlsby", config=HoulsbyConfig, needs=(Capability.FEED_FORWARD,), search_space=(SIZES,))
def build_houlsby(config: HoulsbyConfig, *, model: ModelRef, task: TaskSpec,
                  max_length: int) -> BuiltMethod:
    """Houlsby adapters: a bottleneck after every layer's attention output and feed-forward output."""
    return _build(config, HOULSBY_PLACES, model, task, max_length)


@register_method("pfeiffer", config=PfeifferConfig, needs=(Capability.FEED_FORWARD,), search_space=(SIZES,))
def build_pfeiffer(config: PfeifferConfig, *, model: ModelRef, task: TaskSpec,
                   max_length: int) -> BuiltMethod:
    """Pfeiffer adapters: one bottleneck after the feed-forward output of every layer."""
    return _build(config, PFEIFFER_PLACES, model, task, max_length)
