"""`run_bench.py perf`: weight-free speed and memory of every method (and its peft peer) on a
named model shape, one fresh child process per row."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from bench.core.knobs import knob, validate_knobs
from bench.perf.rows import PerfRow
from bench.perf.shapes import materialise_shape
from bench.perf.worker import PerfRequest, PerfResult, measure_row
from bench.training.isolation import ChildDied, call_in_child, fork_server


@dataclass(frozen=True)
class PerfConfig:
    shape: str
    rows: tuple[PerfRow, ...]
    batch_size: int = knob(32, "samples per step", at_least=1)
    seq_len: int = knob(128, "tokens per sample (every sample is truncated to exactly this)", at_least=8)
    steps: int = knob(20, "timed steps after warm-up", at_least=1)
    warmup: int = knob(5, "untimed steps first (they also fill LPT's cache)", at_least=0)
    device: str = "auto"
    precision: str = "auto"  # a bench.core.device.Precision
    speed_features: bool = True
    compile: bool = False

    def __post_init__(self) -> None:
        validate_knobs(self)


def run_perf(config: PerfConfig, setup: Callable[[], None],
             preload: tuple[str, ...] = ()) -> list[PerfResult]:
    context = fork_server(preload)
    with tempfile.TemporaryDirectory(prefix="petbench-shape-") as folder:
        ref = materialise_shape(config.shape, Path(folder))
        results = []
        for row in tqdm(config.rows, desc="perf", unit="row"):
            request = PerfRequest(row=row, model_dir=ref.location, model_name=ref.display_name,
                                  batch_size=config.batch_size, seq_len=config.seq_len, steps=config.steps,
                                  warmup=config.warmup, device=config.device, precision=config.precision,
                                  speed_features=config.speed_features, compile=config.compile)
            result = call_in_child(context, measure_row, setup, request, name=f"perf-{row.name}")
            if isinstance(result, ChildDied):
                result = PerfResult(method=row.name, reference=row.reference, status="failed",
                                    error=str(result))
            results.append(result)
    return results
