"""`run_bench.py perf`: weight-free speed and memory of every method (and its peft peer) on a
named model shape, one fresh child process per row."""

from __future__ import annotations

import dataclasses
import statistics
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from tqdm.auto import tqdm

from bench.perf.config import PerfConfig
from bench.perf.shapes import materialise_shape
from bench.perf.worker import PerfRequest, PerfResult, measure_row
from bench.training.isolation import ChildDied, call_in_child, fork_server


def run_perf(config: PerfConfig, setup: Callable[[], None],
             preload: tuple[str, ...] = ()) -> list[PerfResult]:
    """Every row measured `repeats` times in interleaved rounds, so that a slow spell of the machine
    touches every row alike rather than the rows that happened to run during it."""
    context = fork_server(preload)
    rounds: list[list[PerfResult]] = [[] for _ in config.rows]
    with tempfile.TemporaryDirectory(prefix="petbench-shape-") as folder:
        ref = materialise_shape(config.shape, Path(folder))
        plan = [(index, row) for _ in range(config.repeats) for index, row in enumerate(config.rows)]
        for index, row in tqdm(plan, desc="perf", unit="row"):
            request = PerfRequest(row=row, model_dir=ref.location, model_name=ref.display_name,
                                  batch_size=config.batch_size, seq_len=config.seq_len, steps=config.steps,
                                  warmup=config.warmup, device=config.device, precision=config.precision,
                                  speed_features=config.speed_features, compile=config.compile)
            result = call_in_child(context, measure_row, setup, request, name=f"perf-{row.name}")
            if isinstance(result, ChildDied):
                result = PerfResult(method=row.name, reference=row.reference, status="failed",
                                    error=str(result))
            rounds[index].append(result)
    return [combine_rounds(results) for results in rounds]


def combine_rounds(results: Sequence[PerfResult]) -> PerfResult:
    """One row's rounds as one result: median speeds and memory, and the spread of the train speed
    ((max - min) / median); a row that failed in any round is failed, with that round's error."""
    failed = [result for result in results if result.status != "success"]
    if failed:
        return failed[0]
    first = results[0]
    train = [result.train_samples_per_s for result in results]
    median_train = statistics.median(train)
    return dataclasses.replace(
        first, train_samples_per_s=median_train,
        infer_samples_per_s=statistics.median(result.infer_samples_per_s for result in results),
        peak_memory_bytes=int(statistics.median(result.peak_memory_bytes for result in results)),
        mfu=first.mfu * median_train / first.train_samples_per_s if first.mfu is not None else None,
        rounds=len(results), train_spread=(max(train) - min(train)) / median_train)
