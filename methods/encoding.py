"""Turns examples into token ids: plain sentence (pair) encoding and prompt templates."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from bench.errors import BenchError
from tasks.loader import Example
from tasks.spec import MASK_SLOT, TaskSpec


def pad_batch(sequences: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pads to the longest sequence of the batch: (input_ids, attention_mask)."""
    width = max(len(sequence) for sequence in sequences)
    input_ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    attention_mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, sequence in enumerate(sequences):
        input_ids[row, : len(sequence)] = torch.tensor(sequence, dtype=torch.long)
        attention_mask[row, : len(sequence)] = 1
    return input_ids, attention_mask


def labels_tensor(examples: Sequence[Example]) -> torch.Tensor:
    return torch.tensor([example.label for example in examples], dtype=torch.long)


@dataclass(frozen=True)
class PlainEncoder:
    """[CLS] text_a [SEP] (text_b [SEP]) as the tokenizer builds it, truncated to max_length."""

    tokenizer: object
    max_length: int

    def __call__(self, examples: Sequence[Example]) -> dict[str, torch.Tensor]:
        firsts = [example.texts[0] for example in examples]
        seconds = [example.texts[1] for example in examples] if len(examples[0].texts) > 1 else None
        encoded = self.tokenizer(firsts, seconds, truncation=True, max_length=self.max_length,
                                 padding=True, return_tensors="pt")
        return {**encoded, "labels": labels_tensor(examples)}


def special_ids(tokenizer) -> tuple[int, int, int]:
    """(start, end, pad) token ids: [CLS]/[SEP]/[PAD] for BERT, <s>/</s>/<pad> for RoBERTa."""
    start = tokenizer.cls_token_id if tokenizer.cls_token_id is not None else tokenizer.bos_token_id
    end = tokenizer.sep_token_id if tokenizer.sep_token_id is not None else tokenizer.eos_token_id
    if start is None or end is None or tokenizer.mask_token_id is None:
        raise BenchError("the tokenizer lacks [CLS]/[SEP]/[MASK] tokens: prompt methods need an "
                         "encoder (BERT/RoBERTa-style) model")
    return start, end, tokenizer.pad_token_id or 0


def verbalizer_token_ids(tokenizer, words: Sequence[str], *, space_before: bool) -> list[list[int]]:
    """Token ids of each label word as it would be spelt at the [MASK] slot."""
    token_ids = []
    for word in words:
        ids = tokenizer((" " + word) if space_before else word, add_special_tokens=False)["input_ids"]
        if not ids:
            raise BenchError(f"label word {word!r} tokenises to nothing; change the verbalizer")
        token_ids.append(ids)
    return token_ids


PROMPT_SLOT = "[P]"  # a soft-prompt position: its embedding is replaced by the method


@dataclass(frozen=True)
class EncodedPrompt:
    input_ids: list[int]
    mask_positions: list[int]
    prompt_positions: list[int]


class TemplateEncoder:
    """Fills a task template; the [MASK] slot becomes n_masks mask tokens and each [P] one
    soft-prompt position. Positions come from the template's structure, never from searching
    ids, so text that happens to contain a mask token cannot shift them.

    Literal text is never truncated: the text fields are cut, longest first, to fit max_length.
    """

    def __init__(self, tokenizer, template: str, *, n_masks: int, max_length: int) -> None:
        self.tokenizer = tokenizer
        self.start_id, self.end_id, self.pad_id = special_ids(tokenizer)
        self.n_masks = n_masks
        self.max_length = max_length
        # a [P] position holds the mask token too: BERT-style models have no better neutral id
        slots = {MASK_SLOT: ("mask", [tokenizer.mask_token_id] * n_masks),
                 PROMPT_SLOT: ("prompt", [tokenizer.mask_token_id])}
        pattern = "(" + "|".join([r"\{\w+\}"] + [re.escape(name) for name in slots]) + ")"
        self.parts: list[tuple[str, object]] = []  # (kind, ids) or ("field", index)
        fields: list[str] = []
        for piece in re.split(pattern, template):
            if not piece:
                continue
            if piece in slots:
                self.parts.append(slots[piece])
            elif piece.startswith("{") and piece.endswith("}"):
                fields.append(piece[1:-1])
                self.parts.append(("field", len(fields) - 1))
            else:
                self.parts.append(("ids", tokenizer(piece, add_special_tokens=False)["input_ids"]))
        self.field_order = fields
        fixed = 2 + sum(len(ids) for kind, ids in self.parts if kind != "field")
        if fixed >= max_length:
            raise BenchError(f"template needs {fixed} tokens, max_length is {max_length}: raise "
                             f"--max-length or shorten the template")
        self.field_budget = max_length - fixed

    def encode(self, texts_by_field: dict[str, str]) -> EncodedPrompt:
        field_ids = [self.tokenizer(texts_by_field[name], add_special_tokens=False)["input_ids"]
                     for name in self.field_order]
        while sum(len(ids) for ids in field_ids) > self.field_budget:
            max(field_ids, key=len).pop()
        ids = [self.start_id]
        positions: dict[str, list[int]] = {"mask": [], "prompt": []}
        for kind, value in self.parts:
            piece = field_ids[value] if kind == "field" else value
            if kind in positions:
                positions[kind].extend(range(len(ids), len(ids) + len(piece)))
            ids.extend(piece)
        ids.append(self.end_id)
        return EncodedPrompt(ids, positions["mask"], positions["prompt"])


def texts_by_field(task: TaskSpec, example: Example) -> dict[str, str]:
    return dict(zip(task.text_fields, example.texts, strict=True))
