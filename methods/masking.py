"""BERT's random masking for masked-LM training, shared by the `pretrain` stage and the prompt methods'
auxiliary MLM loss: texts tokenised once, batches padded, 15% of positions chosen per step; positions a
caller names (a pseudo-label's word) can be masked always."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from bench.core.task import MASK_SLOT

IGNORED = -100  # label of positions that carry no loss
Span = tuple[int, int] | None  # characters of a text that are always masked (None: none)


def mask_batch(input_ids: torch.Tensor, special: torch.Tensor, tokenizer, probability: float,
               generator: torch.Generator,
               forced: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(inputs, labels): of the positions that are not special, `probability` are chosen; 80% of
    those become the mask token, 10% a random token, 10% stay; `forced` positions are always chosen
    and always the mask token (as prompt fine-tuning shows them); labels elsewhere are ignored."""
    chosen = (torch.rand(input_ids.shape, generator=generator) < probability) & ~special
    if forced is not None:
        chosen |= forced
    labels = torch.where(chosen, input_ids, torch.full_like(input_ids, IGNORED))
    inputs = input_ids.clone()
    roll = torch.rand(input_ids.shape, generator=generator)
    inputs[chosen & (roll < 0.8)] = tokenizer.mask_token_id
    randomised = chosen & (roll >= 0.8) & (roll < 0.9)
    inputs[randomised] = torch.randint(len(tokenizer), input_ids.shape, generator=generator)[randomised]
    if forced is not None:
        inputs[forced] = tokenizer.mask_token_id
    return inputs, labels


def masked_positions_loss(encoder: nn.Module, head: nn.Module,
                          batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Cross-entropy of the MLM head applied at the masked positions only (labels not IGNORED)."""
    labels = batch["labels"]
    hidden = encoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])[0]
    chosen = labels != IGNORED
    return nn.functional.cross_entropy(head(hidden[chosen]).float(), labels[chosen])


class TextBatches:
    """Tokenised texts; the [MASK] slots of a template (already the mask token) never carry loss; the
    tokens overlapping a text's forced span are masked in every batch."""

    def __init__(self, tokenizer, texts: Sequence[str], max_length: int, forced: Sequence[Span] = ()) -> None:
        self.tokenizer = tokenizer
        filled = [text.replace(MASK_SLOT, tokenizer.mask_token) for text in texts]
        encoded = tokenizer(filled, truncation=True, max_length=max_length, return_special_tokens_mask=True,
                            return_offsets_mapping=bool(forced))
        self.ids, self.special = encoded["input_ids"], encoded["special_tokens_mask"]
        self.forced = [_overlapping(offsets, span) for offsets, span
                       in zip(encoded["offset_mapping"], forced, strict=True)] if forced else []

    def __len__(self) -> int:
        return len(self.ids)

    def batch(self, indices: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(ids, positions that never carry loss, attention mask, forced positions), padded to the
        longest text."""
        width = max(len(self.ids[i]) for i in indices)
        ids = torch.full((len(indices), width), self.tokenizer.pad_token_id or 0, dtype=torch.long)
        special = torch.ones((len(indices), width), dtype=torch.bool)
        attention = torch.zeros((len(indices), width), dtype=torch.long)
        forced = torch.zeros((len(indices), width), dtype=torch.bool)
        for row, index in enumerate(indices):
            length = len(self.ids[index])
            ids[row, :length] = torch.tensor(self.ids[index])
            special[row, :length] = torch.tensor(self.special[index], dtype=torch.bool)
            attention[row, :length] = 1
            for position in self.forced[index] if self.forced else ():
                forced[row, position] = True
        special |= ids == self.tokenizer.mask_token_id  # a template's slot: its word is unknown
        return ids, special, attention, forced


def _overlapping(offsets: Sequence[tuple[int, int]], span: Span) -> tuple[int, ...]:
    """Token positions whose characters overlap the span (none for special tokens or no span)."""
    if span is None:
        return ()
    return tuple(position for position, (start, end) in enumerate(offsets)
                 if end > start and start < span[1] and end > span[0])
