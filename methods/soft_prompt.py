"""Continuous prompt tokens: a trainable table (optionally re-encoded) placed at [P] positions."""

from __future__ import annotations

from enum import StrEnum

import torch
from torch import nn

from bench.core.task import MASK_SLOT
from methods.encoding import PROMPT_SLOT


class PromptEncoderKind(StrEnum):
    LSTM = "lstm"  # bidirectional 2-layer LSTM then a 2-layer MLP (P-tuning's encoder)
    MLP = "mlp"  # the 2-layer MLP alone (peft's PromptEncoder default)
    NONE = "none"  # the table itself


class PromptEncoder(nn.Module):
    """prompt_length vectors of the model's width: an embedding table, optionally passed through
    a bidirectional 2-layer LSTM and a 2-layer MLP (P-tuning's encoder) or the MLP alone."""

    def __init__(self, length: int, width: int, kind: PromptEncoderKind = PromptEncoderKind.NONE) -> None:
        super().__init__()
        kind = PromptEncoderKind(kind)
        self.embedding = nn.Embedding(length, width)
        self.lstm = (nn.LSTM(width, width // 2, num_layers=2, bidirectional=True, batch_first=True)
                     if kind == PromptEncoderKind.LSTM else None)
        self.mlp = (nn.Sequential(nn.Linear(width, width), nn.ReLU(), nn.Linear(width, width))
                    if kind != PromptEncoderKind.NONE else None)

    def forward(self) -> torch.Tensor:
        prompts = self.embedding.weight.unsqueeze(0)
        if self.lstm is not None:
            prompts = self.lstm(prompts)[0]
        if self.mlp is not None:
            prompts = self.mlp(prompts)
        return prompts.squeeze(0)


def place_prompts(embeddings: torch.Tensor, positions: torch.Tensor, prompts: torch.Tensor) -> torch.Tensor:
    """embeddings (batch, seq, dim) with rows' [P] positions (batch, L) replaced by prompts (L, dim)."""
    batch, length = positions.shape
    index = positions.unsqueeze(-1).expand(-1, -1, embeddings.shape[-1])
    values = prompts.to(embeddings.dtype).unsqueeze(0).expand(batch, length, -1)
    return embeddings.scatter(1, index, values)


def template_with_prompts(template: str, *, before_input: int, before_mask: int) -> str:
    """The task template with [P] tokens at its start and right before the [MASK] slot."""
    with_mask_prompts = template.replace(MASK_SLOT, PROMPT_SLOT * before_mask + MASK_SLOT)
    return PROMPT_SLOT * before_input + with_mask_prompts
