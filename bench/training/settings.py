"""The training loop's settings (TrainConfig): plain data, importable without torch, so that the
command line can offer them as options before any numeric library loads."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum

from bench.core.knobs import knob, validate_knobs


class Toggle(StrEnum):
    AUTO = "auto"
    ON = "on"
    OFF = "off"


# below this many optimiser steps a cell is too short for torch.compile's start-up cost (tens of
# seconds on a GPU) to pay back; `--compile on` forces it
COMPILE_MIN_STEPS = 500
# a CPU's time grows with the padded tokens, so a batch of short and long sentences costs less as
# length-sorted parts (docs/results/cpu-avx2.md); a GPU's step is cheaper whole
CPU_MICRO_BATCHES = 2


@dataclass(frozen=True)
class TrainConfig:
    """The loop's settings, shared by all methods (learning rate and epochs are method knobs)."""

    max_steps: int | None = knob(None, "optimiser steps in total; overrides every method's epochs",
                                 at_least=1)
    batch_size: int = knob(16, "training batch size", at_least=1)
    eval_limit: int = knob(0, "score on this many eval examples only (a fixed stratified sample, the same "
                              "for every cell): a quick look at a large eval set, marked in every report; "
                              "0 = the whole split", at_least=0)
    eval_batch_size: int = knob(128, "evaluation batch size (inference only, length-sorted batches)",
                                at_least=1)
    max_length: int = knob(128, "tokens per example; text fields are cut, template text never", at_least=8)
    warmup_ratio: float = knob(0.06, "share of the steps with linear learning-rate warm-up", at_least=0,
                               at_most=0.99)
    weight_decay: float = knob(0.01, "AdamW weight decay (none on biases and LayerNorm weights)", at_least=0)
    max_grad_norm: float = knob(1.0, "gradient clipping norm", above=0)
    zero_shot: bool = knob(False, "evaluate without any training step (prompt methods' zero-shot row)")
    group_by_length: bool = knob(False, "training batches of similar length (less padding), random order")
    eval_every: int = knob(0, "steps between dev evaluations (selection is over these checkpoints, as in "
                              "LM-BFF's eval_steps); 0 = at each epoch's end", at_least=0)
    log_every: int = knob(10, "steps between reading the loss (a device sync) to check it is finite",
                          at_least=1, identity=False)
    fused_optimizer: bool = knob(True, "one fused AdamW kernel (CUDA or CPU) instead of per-tensor loops")
    frozen_bf16: bool = knob(True, "under bf16 autocast: store frozen weights in bf16")
    compile: Toggle = knob(Toggle.AUTO, f"torch.compile the training forward: auto = on CUDA for cells "
                                        f"of at least {COMPILE_MIN_STEPS} steps")
    pad_to_multiple_of: int = knob(0, "pad batch lengths to a multiple (static shapes); 0 = 8 on CUDA, "
                                      "none on CPU", at_least=0)
    micro_batches: int = knob(0, "run each training batch as this many length-sorted parts whose gradients "
                                 "add up to the batch's (the same batch and loss, less padding; other "
                                 f"dropout draws): 0 = {CPU_MICRO_BATCHES} on CPU, 1 on CUDA", at_least=0)

    def __post_init__(self) -> None:
        validate_knobs(self)


def settings_on_device(config: TrainConfig, *, cuda: bool) -> TrainConfig:
    """The settings as the loop runs them on a device kind: each by-device default filled in (cell ids
    hash these, so a default and its value written out are one cell)."""
    compiled = Toggle.OFF if config.compile == Toggle.AUTO and not cuda else config.compile
    return dataclasses.replace(config, pad_to_multiple_of=config.pad_to_multiple_of or (8 if cuda else 1),
                               micro_batches=config.micro_batches or (1 if cuda else CPU_MICRO_BATCHES),
                               compile=compiled)
