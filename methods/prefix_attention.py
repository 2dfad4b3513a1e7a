"""Key/value prefixes in every attention layer (prefix tuning, P-tuning v2), injected through
transformers' attention-function registry (`AttentionInterface`).

The prefixes never travel through the model's forward arguments: the name of the cache argument
that peft relies on changed between releases (`past_key_values` up to 5.23, `cache` from 5.24),
while the attention registry is the documented extension point for custom attention. Prefix
positions get no position embeddings, so the input keeps positions 0..n-1 as without prefixes.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from contextvars import ContextVar

import torch
from torch import nn

from bench.core.errors import BenchError

PREFIX_ATTENTION = "petbench_prefix"

# (keys, values), each (layers, heads, prefix length, head dim), while a prefixed forward runs
_ACTIVE_PREFIXES: ContextVar[tuple[torch.Tensor, torch.Tensor] | None] = ContextVar(
    "petbench_active_prefixes", default=None)


def _prefixed_attention(module: nn.Module, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                        attention_mask: torch.Tensor | None, **kwargs):
    """SDPA attention over [prefix keys/values; the sequence's own], every query seeing the prefix."""
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    prefixes = _ACTIVE_PREFIXES.get()
    if prefixes is not None:
        layer = getattr(module, "layer_idx", None)
        if layer is None:
            raise BenchError(f"{type(module).__name__} has no layer_idx: prefix methods support "
                             f"BERT/RoBERTa-style encoders")
        batch = query.shape[0]
        prefix_keys = prefixes[0][layer].to(key.dtype).unsqueeze(0).expand(batch, -1, -1, -1)
        prefix_values = prefixes[1][layer].to(value.dtype).unsqueeze(0).expand(batch, -1, -1, -1)
        key = torch.cat([prefix_keys, key], dim=2)
        value = torch.cat([prefix_values, value], dim=2)
        if attention_mask is not None:  # (batch, 1, queries, keys): boolean, or additive float
            visible = True if attention_mask.dtype == torch.bool else 0.0
            pad = attention_mask.new_full((*attention_mask.shape[:-1], prefix_keys.shape[2]), visible)
            attention_mask = torch.cat([pad, attention_mask], dim=-1)
    return sdpa_attention_forward(module, query, key, value, attention_mask, **kwargs)


@functools.cache
def _register() -> None:
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    AttentionInterface.register(PREFIX_ATTENTION, _prefixed_attention)
    AttentionMaskInterface.register(PREFIX_ATTENTION, sdpa_mask)


def use_prefix_attention(model: nn.Module) -> None:
    """Switch a transformers model to the prefix-aware attention (plain SDPA when no prefix is active)."""
    _register()
    model.set_attn_implementation(PREFIX_ATTENTION)


@contextlib.contextmanager
def active_prefixes(keys: torch.Tensor, values: torch.Tensor) -> Iterator[None]:
    """Within the block, every layer i of a prefix-attention model attends to keys[i], values[i]."""
    token = _ACTIVE_PREFIXES.set((keys, values))
    try:
        yield
    finally:
        _ACTIVE_PREFIXES.reset(token)


class PrefixEncoder(nn.Module):
    """Per-layer key and value prefixes: a free table, or (prefix tuning's reparameterisation) a
    smaller table passed through a two-layer tanh MLP."""

    def __init__(self, *, length: int, n_layers: int, n_heads: int, head_dim: int,
                 projection_hidden: int | None) -> None:
        super().__init__()
        self.shape = (length, n_layers, 2, n_heads, head_dim)
        flat = n_layers * 2 * n_heads * head_dim
        if projection_hidden:
            width = n_heads * head_dim
            self.embedding = nn.Embedding(length, width)
            self.projection = nn.Sequential(nn.Linear(width, projection_hidden), nn.Tanh(),
                                            nn.Linear(projection_hidden, flat))
        else:
            self.embedding = nn.Embedding(length, flat)
            self.projection = None

    def forward(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(keys, values), each (layers, heads, length, head dim)."""
        prefix = self.embedding.weight
        if self.projection is not None:
            prefix = self.projection(prefix)
        keys_values = prefix.view(self.shape).permute(2, 1, 3, 0, 4)
        return keys_values[0], keys_values[1]
