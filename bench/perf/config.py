"""The settings of `run_bench.py perf`: plain data, importable without torch (the command line's
options are built from them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.core.knobs import knob, validate_knobs


@dataclass(frozen=True)
class PerfConfig:
    shape: str
    rows: tuple[Any, ...]  # bench.perf.rows.PerfRow (which imports the method registry, and torch)
    batch_size: int = knob(32, "samples per step", at_least=1)
    seq_len: int = knob(128, "tokens per sample (every sample is truncated to exactly this)", at_least=8)
    steps: int = knob(20, "timed steps after warm-up", at_least=1)
    warmup: int = knob(5, "untimed steps first (they also fill LPT's cache)", at_least=0)
    repeats: int = knob(1, "rounds of all rows, one after the other (each row in a fresh process every "
                           "round): the table shows each row's medians and its train-speed spread",
                        at_least=1)
    device: str = "auto"
    precision: str = "auto"  # a bench.core.device.Precision
    speed_features: bool = True
    compile: bool = False

    def __post_init__(self) -> None:
        validate_knobs(self)
