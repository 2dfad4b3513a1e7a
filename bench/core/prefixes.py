"""Key/value prefixes in every attention layer (prefix tuning, P-tuning v2), active for one forward.

The prefixes never travel through the model's forward arguments (the name of the cache argument
changed between transformers releases). A prefixed forward runs inside `active_prefixes`; each
attention call takes the next layer position's prefix, in call order, so one shared layer applied N
times (ALBERT) gets N prefixes. Families whose attention goes through transformers' attention-function
registry (`AttentionInterface`) use `use_interface_prefix_attention`; the others patch their attention
modules and call `next_layer_prefix` themselves. Prefix positions get no position information: the
input keeps positions 0..n-1 as without prefixes.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field

import torch
from torch import nn

PREFIX_ATTENTION = "petbench_prefix"


@dataclass
class _ActivePrefixes:
    keys: torch.Tensor  # (layer positions, heads, prefix length, head dim)
    values: torch.Tensor
    used: list[int] = field(default_factory=lambda: [0])


_ACTIVE: ContextVar[_ActivePrefixes | None] = ContextVar("petbench_active_prefixes", default=None)


@contextlib.contextmanager
def active_prefixes(keys: torch.Tensor, values: torch.Tensor) -> Iterator[None]:
    """Within the block, the i-th attention call of the forward attends to keys[i], values[i] too."""
    active = _ActivePrefixes(keys, values)
    token = _ACTIVE.set(active)
    try:
        yield
    finally:
        _ACTIVE.reset(token)
    if active.used[0] != len(keys):
        raise RuntimeError(f"a prefixed forward ran {active.used[0]} attention layers, the prefixes have "
                           f"{len(keys)}: the family's attention_shape is wrong")


def next_layer_prefix(batch: int, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor] | None:
    """The next layer position's (keys, values), each (batch, heads, prefix length, head dim), or
    None outside a prefixed forward."""
    active = _ACTIVE.get()
    if active is None:
        return None
    position = active.used[0]
    if position >= len(active.keys):
        raise RuntimeError(f"a prefixed forward ran more attention layers than its {len(active.keys)} "
                           f"prefixes: the family's attention_shape is wrong")
    active.used[0] += 1
    keys = active.keys[position].to(dtype).unsqueeze(0).expand(batch, -1, -1, -1)
    values = active.values[position].to(dtype).unsqueeze(0).expand(batch, -1, -1, -1)
    return keys, values


def mask_with_prefix(attention_mask: torch.Tensor | None, length: int) -> torch.Tensor | None:
    """A (batch, 1|heads, queries, keys) mask, boolean or additive, with `length` visible key columns
    in front."""
    if attention_mask is None:
        return None
    visible = True if attention_mask.dtype == torch.bool else 0.0
    pad = attention_mask.new_full((*attention_mask.shape[:-1], length), visible)
    return torch.cat([pad, attention_mask], dim=-1)


def _prefixed_sdpa(module: nn.Module, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                   attention_mask: torch.Tensor | None, **kwargs):
    """SDPA attention over [prefix keys/values; the sequence's own], every query seeing the prefix."""
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    prefix = next_layer_prefix(query.shape[0], key.dtype)
    if prefix is not None:
        key = torch.cat([prefix[0], key], dim=2)
        value = torch.cat([prefix[1], value], dim=2)
        if attention_mask is not None and attention_mask.dim() == 4:
            attention_mask = mask_with_prefix(attention_mask, prefix[0].shape[2])
    return sdpa_attention_forward(module, query, key, value, attention_mask, **kwargs)


@functools.cache
def _register() -> None:
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    AttentionInterface.register(PREFIX_ATTENTION, _prefixed_sdpa)
    AttentionMaskInterface.register(PREFIX_ATTENTION, sdpa_mask)


def use_interface_prefix_attention(model: nn.Module) -> None:
    """Switch a model whose attention goes through AttentionInterface to the prefix-aware SDPA
    (plain SDPA when no prefix is active)."""
    _register()
    model.set_attn_implementation(PREFIX_ATTENTION)
