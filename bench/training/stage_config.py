"""The settings of the masked-LM stage (`pretrain`) and of prompt-based continued pretraining
(`pretrain --pcp`): plain data, importable without torch (the command line's options are built from
them)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bench.core.errors import BenchError
from bench.core.knobs import knob, validate_knobs

if TYPE_CHECKING:
    from bench.core.models import ModelRef

Span = tuple[int, int] | None  # characters of a text that are always masked (None: none)


@dataclass(frozen=True)
class PretrainConfig:
    trains: str = knob("top:4", "what trains: head (the MLM head only), top:K (the head and the top K "
                                "layers) or all")
    steps: int = knob(500, "optimiser steps", at_least=1)
    batch_size: int = knob(32, "texts per step", at_least=1)
    learning_rate: float = knob(1e-4, "peak learning rate (the loop's AdamW, warm-up and linear decay)",
                                above=0)
    mask_probability: float = knob(0.15, "share of tokens masked (BERT's 80/10/10 recipe)", above=0,
                                   at_most=0.9)
    max_length: int = knob(128, "tokens per text", at_least=8)
    heldout: int = knob(500, "texts held out to measure the MLM loss before and after", at_least=1)
    save_every: int = knob(100, "steps between saves of the resumable state", at_least=1)
    seed: int = knob(42, "seed of the masking, the held-out split and the initialisation", at_least=0)

    def __post_init__(self) -> None:
        validate_knobs(self)
        layers(self.trains)

    def signature(self, model: ModelRef, texts: Sequence[str], forced: Sequence[Span] = ()) -> str:
        digest = hashlib.sha256(json.dumps(dataclasses.asdict(self), sort_keys=True).encode())
        digest.update(model.fingerprint.encode())
        for text in texts:
            digest.update(text.encode())
        digest.update(json.dumps(list(forced)).encode())
        return digest.hexdigest()[:16]


def layers(trains: str) -> int | None:
    """None for `all`, 0 for `head`, K for `top:K`."""
    if trains == "all":
        return None
    if trains == "head":
        return 0
    name, _, count = trains.partition(":")
    if name != "top" or not count.isdigit() or int(count) < 1:
        raise BenchError(f"--trains {trains!r}: use head, top:K (K >= 1) or all")
    return int(count)


@dataclass(frozen=True)
class PcpConfig:
    teacher: str = knob("linear_probe", "the registered method that, trained on the cell's labelled "
                                        "examples, pseudo-labels the unlabelled texts")
    shots: str = knob("default", "the teacher's labelled examples: default (the task's), full or a number")
    teacher_seed: int = knob(42, "the teacher cell's seed (its few-shot sample): the seed of the cells "
                                 "that will read the checkpoint", at_least=0)
    threshold: float = knob(0.0, "keep only texts whose pseudo-label has at least this probability",
                            at_least=0, at_most=1)
    mask_label_word: bool = knob(False, "mask the slot's label word in every batch (otherwise it is masked "
                                        "at random like any other token)")
    max_texts: int = knob(0, "use at most this many unlabelled texts, a seeded sample (0: all)", at_least=0)

    def __post_init__(self) -> None:
        validate_knobs(self)
