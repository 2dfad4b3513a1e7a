"""The fill-mask probe: the top-k words a checkpoint's MLM head puts at each mask of a text, to see
whether a head (pretrained, continued or new) reads context at all."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from bench.core.device import DeviceChoice
from bench.core.errors import BenchError
from bench.core.loading import load_masked_lm, load_tokenizer
from bench.core.method import MlmHead
from bench.core.models import ModelRef
from bench.core.task import MASK_SLOT

MASK_SPELLINGS = (MASK_SLOT, "<mask>")  # BERT's and RoBERTa / XLM-R's: either works with either model


@dataclass(frozen=True)
class Guesses:
    text: str  # as the model read it (the tokenizer's own mask spelling)
    per_mask: tuple[tuple[tuple[str, float], ...], ...]  # per mask: (word, probability), best first


def fill_mask(model_ref: ModelRef, texts: list[str], *, top_k: int,
              device: DeviceChoice) -> tuple[MlmHead, list[Guesses]]:
    """Where the head came from, and the top_k guesses at every mask of every text."""
    tokenizer = load_tokenizer(model_ref)
    if tokenizer.mask_token is None:
        raise BenchError(f"{model_ref.display_name} has no mask token: it is not a masked language model")
    model, head = load_masked_lm(model_ref)
    model.to(device.device).eval()
    results = []
    for text in texts:
        spelled = text
        for spelling in MASK_SPELLINGS:
            spelled = spelled.replace(spelling, tokenizer.mask_token)
        encoded = tokenizer(spelled, return_tensors="pt").to(device.device)
        positions = (encoded["input_ids"][0] == tokenizer.mask_token_id).nonzero().flatten()
        if not len(positions):
            raise BenchError(f"{text!r} has no mask: write [MASK] (or <mask>) where a word should go")
        with torch.inference_mode():
            probabilities = model(**encoded).logits[0, positions].float().softmax(-1)
        top = probabilities.topk(top_k, dim=-1)
        per_mask = tuple(tuple((tokenizer.decode([int(index)]).strip(), float(value))
                               for value, index in zip(values, indices, strict=True))
                         for values, indices in zip(top.values, top.indices, strict=True))
        results.append(Guesses(spelled, per_mask))
    return head, results
