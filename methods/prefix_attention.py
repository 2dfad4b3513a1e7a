"""The trainable key/value prefixes of prefix tuning and P-tuning v2: a table, optionally
reparameterised through an MLP, one prefix per layer position of the encoder. How the prefixes enter
attention is the encoder family's (bench.core.prefixes)."""

from __future__ import annotations

import torch
from torch import nn


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
