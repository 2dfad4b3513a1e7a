"""`run_bench.py perf`: weight-free speed and memory of every method (and its peft peer) on a
named model shape, one fresh child process per method."""

from __future__ import annotations

import dataclasses
import multiprocessing
import multiprocessing.context
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from tabulate import tabulate
from tqdm.auto import tqdm

from bench.errors import BenchError
from bench.perf_worker import PerfRequest, PerfResult, measure_in_child
from bench.results import write_atomically
from bench.shapes import materialise_shape


@dataclass(frozen=True)
class PerfConfig:
    shape: str
    methods: tuple[str, ...]
    batch_size: int = 32
    seq_len: int = 128
    steps: int = 20
    warmup: int = 5
    device: str = "auto"
    speed_features: bool = True
    compile: bool = False

    def __post_init__(self) -> None:
        if min(self.batch_size, self.seq_len, self.steps) < 1 or self.warmup < 0:
            raise BenchError("batch size, sequence length and steps must be at least 1")


# imported once by the fork server, so that each per-method child starts without paying for them
_PRELOAD = ["bench.perf_worker", "methods", "peft", "transformers.models.bert.modeling_bert",
            "transformers.models.roberta.modeling_roberta"]


def _fork_server() -> multiprocessing.context.ForkServerContext:
    """Children forked from a server that imported the libraries but never touched a device: each
    is a fresh process (its own peak memory, its own CUDA context) that starts in milliseconds."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(_PRELOAD)
    return context


def _run_worker(request: PerfRequest, context: multiprocessing.context.ForkServerContext) -> PerfResult:
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=measure_in_child, args=(request, sender), name=f"perf-{request.method}")
    child.start()
    sender.close()
    try:
        result = receiver.recv()
    except EOFError:  # the child died without answering (killed, out of memory, a crash in C)
        result = None
    child.join()
    if result is None:
        return PerfResult(method=request.method, reference="", status="failed",
                          error=f"worker exited {child.exitcode} without a result")
    return result


def run_perf(config: PerfConfig) -> list[PerfResult]:
    context = _fork_server()
    with tempfile.TemporaryDirectory(prefix="petbench-shape-") as folder:
        ref = materialise_shape(config.shape, Path(folder))
        results = []
        for method in tqdm(config.methods, desc="perf", unit="method"):
            request = PerfRequest(method=method, model_dir=ref.location, model_name=ref.display_name,
                                  batch_size=config.batch_size, seq_len=config.seq_len, steps=config.steps,
                                  warmup=config.warmup, device=config.device,
                                  speed_features=config.speed_features, compile=config.compile)
            results.append(_run_worker(request, context))
    return results


def perf_frame(results: list[PerfResult]) -> pd.DataFrame:
    frame = pd.DataFrame([dataclasses.asdict(result) for result in results])
    by_method = frame.set_index("method")
    full_ft = by_method["train_samples_per_s"].get("full_ft")
    full_ft_memory = by_method["peak_memory_bytes"].get("full_ft")

    def ratio(row, column: str, reference: str | None) -> float | None:
        base = by_method[column].get(reference) if reference else None
        return row[column] / base if base else None

    rows = [row for _, row in frame.iterrows()]
    frame["speed_vs_peer"] = [ratio(row, "train_samples_per_s", row["reference"]) for row in rows]
    frame["memory_vs_peer"] = [ratio(row, "peak_memory_bytes", row["reference"]) for row in rows]
    frame["speed_vs_full_ft"] = frame["train_samples_per_s"] / full_ft if full_ft else None
    frame["memory_vs_full_ft"] = frame["peak_memory_bytes"] / full_ft_memory if full_ft_memory else None
    return frame


def _fmt(value, pattern: str) -> str:
    return "-" if value is None or pd.isna(value) else pattern.format(value)


def perf_table(frame: pd.DataFrame) -> str:
    rows = [[row.method, row.status, _fmt(row.train_samples_per_s, "{:.1f}"),
             _fmt(row.infer_samples_per_s, "{:.1f}"),
             _fmt(row.peak_memory_bytes / 2**30, "{:.3f}"), _fmt(row.mfu, "{:.1%}"),
             f"{row.trainable_params:,}", row.reference or "-", _fmt(row.speed_vs_peer, "{:.2f}x"),
             _fmt(row.memory_vs_peer, "{:.2f}x"), _fmt(row.speed_vs_full_ft, "{:.2f}x"),
             _fmt(row.memory_vs_full_ft, "{:.0%}"), row.error[:60]]
            for row in frame.itertuples()]
    headers = ["method", "status", "train samples/s", "infer samples/s", "peak GiB", "MFU", "trainable",
               "peer", "speed vs peer", "memory vs peer", "speed vs full_ft", "memory vs full_ft", "error"]
    return tabulate(rows, headers=headers, tablefmt="github")


def render_perf(config: PerfConfig, frame: pd.DataFrame) -> str:
    ok = frame[frame["status"] == "success"]
    first = ok.iloc[0] if not ok.empty else None
    header = [f"# PETBench perf: {config.shape}, batch {config.batch_size}, seq {config.seq_len}", "",
              f"Steps timed: {config.steps} after {config.warmup} warm-up; speed features "
              f"{'on' if config.speed_features else 'off'}; "
              f"torch.compile {'on' if config.compile else 'off'}; random weights."]
    if first is not None:
        header += [f"Device: {first['device']}, {first['dtype']}; memory: {first['memory_kind']}.",
                   f"Versions: {first['versions']}."]
    return "\n".join([*header, "", perf_table(frame), ""])


def write_perf(config: PerfConfig, results: list[PerfResult], out: Path) -> str:
    frame = perf_frame(results)
    markdown = render_perf(config, frame)
    write_atomically(out / "perf.csv", frame.to_csv(index=False))
    write_atomically(out / "perf.md", markdown)
    return markdown
