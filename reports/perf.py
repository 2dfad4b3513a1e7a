"""The perf table: speed and memory per row, with ratios to each row's peer and to full fine-tuning."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
from tabulate import tabulate

from bench.core.store import write_atomically
from bench.perf.config import PerfConfig
from bench.perf.worker import PerfResult


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
             _fmt(row.memory_vs_full_ft, "{:.0%}"), _fmt(row.train_spread, "{:.0%}"), row.error[:60]]
            for row in frame.itertuples()]
    headers = ["method", "status", "train samples/s", "infer samples/s", "peak GiB", "MFU", "trainable",
               "peer", "speed vs peer", "memory vs peer", "speed vs full_ft", "memory vs full_ft",
               "train spread", "error"]
    return tabulate(rows, headers=headers, tablefmt="github")


def render_perf(config: PerfConfig, frame: pd.DataFrame) -> str:
    ok = frame[frame["status"] == "success"]
    first = ok.iloc[0] if not ok.empty else None
    header = [f"# PETBench perf: {config.shape}, batch {config.batch_size}, seq {config.seq_len}", "",
              f"Steps timed: {config.steps} after {config.warmup} warm-up; speed features "
              f"{'on' if config.speed_features else 'off'}; "
              f"torch.compile {'on' if config.compile else 'off'}; random weights."]
    if config.repeats > 1:
        header += [f"Each row: medians of {config.repeats} rounds run one after the other (every row once "
                   f"per round, each in a fresh process); train spread = (max - min) / median of its "
                   f"train samples/s."]
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
