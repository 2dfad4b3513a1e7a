"""PET's auxiliary language-modelling loss: each training step also takes the masked-LM loss of a batch
of unlabelled texts written into the task's template (15% of tokens masked, the slot itself never),
and the loop trains on (1 - w) * task loss + w * that loss (PET weights it 1e-4)."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from bench.core.errors import BenchError
from bench.core.leaks import Guarded, HeldOut, drop_held_out, require_some
from bench.core.task import TaskSpec, filled_template
from bench.core.unlabelled import read_unlabelled
from methods.masking import IGNORED, TextBatches, mask_batch, masked_positions_loss

AUXILIARY_WEIGHT_HELP = ("weight w of PET's auxiliary MLM loss on unlabelled texts in the template: each "
                         "step trains on (1 - w) * task loss + w * MLM loss (PET: 1e-4); 0 = off")
AUXILIARY_TEXTS_HELP = ("the auxiliary loss's unlabelled texts: FewCLUE's unlabeled.json or a text file "
                        "(the task's fields, tab-separated for pairs)")
MASK_PROBABILITY = 0.15


def check_auxiliary(weight: float, texts: str) -> None:
    """One-line errors when the grid is planned, before any cell trains."""
    if weight and not texts:
        raise BenchError("auxiliary_mlm needs auxiliary_texts=FILE (unlabelled texts of the task)")
    if weight and not Path(texts).is_file():
        raise BenchError(f"auxiliary_texts {texts} not found: pass FewCLUE's unlabeled.json or a text file")


class AuxiliaryMlm(nn.Module):
    """Draws the next batch of templated unlabelled texts (a seeded order, cycling) and returns the MLM
    loss of the encoder and head on it. Holds no parameters: the model's own encoder and head train.
    It draws nothing until the leak guard has cleared its texts of the cell's dev and eval texts."""

    def __init__(self, tokenizer, task: TaskSpec, path: Path, *, batch_size: int, max_length: int,
                 seed: int) -> None:
        super().__init__()
        self.rows, self.path, self.task = read_unlabelled(path, task), path, task
        self.tokenizer, self.max_length, self.wanted_batch = tokenizer, max_length, batch_size
        self.texts: TextBatches | None = None
        self.seed, self.drawn = seed, 0

    def exclude(self, held_out: HeldOut) -> Guarded:
        """Keep only the texts that equal no held-out text (bench.core.leaks), templated."""
        guarded = drop_held_out(self.rows, held_out)
        require_some(guarded, f"auxiliary_texts {self.path}")
        lines = [filled_template(self.task, fields)[0] for fields in guarded.kept]
        self.texts = TextBatches(self.tokenizer, lines, self.max_length)
        self.batch_size = min(self.wanted_batch, len(lines))
        return guarded

    def loss(self, encoder: nn.Module, head: nn.Module) -> torch.Tensor:
        if self.texts is None:
            raise RuntimeError("the auxiliary MLM texts were never cleared of the cell's dev and eval texts: "
                               "call bench.core.leaks.guard_unlabelled on the built model before training")
        per_round = len(self.texts) // self.batch_size
        round_, position = divmod(self.drawn, per_round)
        order = torch.randperm(len(self.texts), generator=torch.Generator().manual_seed(self.seed + round_))
        indices = order[position * self.batch_size : (position + 1) * self.batch_size].tolist()
        ids, special, attention, _ = self.texts.batch(indices)
        masking = torch.Generator().manual_seed(self.seed * 1_000_003 + self.drawn)
        inputs, labels = mask_batch(ids, special, self.texts.tokenizer, MASK_PROBABILITY, masking)
        self.drawn += 1
        if not (labels != IGNORED).any():  # very short texts: nothing drawn to mask this time
            return torch.zeros((), device=next(encoder.parameters()).device)
        device = next(encoder.parameters()).device
        batch = {"input_ids": inputs.to(device), "attention_mask": attention.to(device),
                 "labels": labels.to(device)}
        return masked_positions_loss(encoder, head, batch)
