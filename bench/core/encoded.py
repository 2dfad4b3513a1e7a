"""Examples encoded once into token ids (before any timed loop), and the batch collation that only
gathers and pads them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import torch

Batch = dict[str, torch.Tensor]


@dataclass(frozen=True)
class EncodedExample:
    """One example as token ids, with the positions a method reads or fills, and its label."""

    input_ids: tuple[int, ...]
    label: int
    token_type_ids: tuple[int, ...] | None = None
    mask_positions: tuple[int, ...] = ()  # the template's [MASK] tokens
    prompt_positions: tuple[int, ...] = ()  # soft-prompt slots whose embeddings a method replaces


class ExampleEncoder(Protocol):
    """Turns examples into EncodedExamples; cache_key identifies the encoding (tokenizer + settings)."""

    pad_id: int

    @property
    def cache_key(self) -> str: ...

    def encode(self, examples: Sequence) -> list[EncodedExample]: ...


def collate(items: Sequence[EncodedExample], pad_id: int, *, pad_to_multiple_of: int = 1) -> Batch:
    """Right-pads a batch to its longest example (rounded up to a multiple, for static shapes):
    input_ids, attention_mask, token_type_ids and positions where present, and labels."""
    longest = max(len(item.input_ids) for item in items)
    width = -(-longest // pad_to_multiple_of) * pad_to_multiple_of
    input_ids = torch.full((len(items), width), pad_id, dtype=torch.long)
    attention_mask = torch.zeros((len(items), width), dtype=torch.long)
    for row, item in enumerate(items):
        input_ids[row, : len(item.input_ids)] = torch.tensor(item.input_ids, dtype=torch.long)
        attention_mask[row, : len(item.input_ids)] = 1
    batch = {"input_ids": input_ids, "attention_mask": attention_mask,
             "labels": torch.tensor([item.label for item in items], dtype=torch.long)}
    if items[0].token_type_ids is not None:
        token_types = torch.zeros((len(items), width), dtype=torch.long)
        for row, item in enumerate(items):
            token_types[row, : len(item.token_type_ids)] = torch.tensor(item.token_type_ids, dtype=torch.long)
        batch["token_type_ids"] = token_types
    if items[0].mask_positions:
        batch["mask_positions"] = torch.tensor([item.mask_positions for item in items], dtype=torch.long)
    if items[0].prompt_positions:
        batch["prompt_positions"] = torch.tensor([item.prompt_positions for item in items], dtype=torch.long)
    return batch
