"""Results records -> pandas frames: one row per cell, and seed-aggregated groups."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import pandas as pd

from bench.results import CellResult
from reports.stats import summarize

GROUP_KEYS = ["task", "task_version", "method", "model", "shots", "fewclue_split", "zero_shot"]


def cells_frame(records: Sequence[CellResult]) -> pd.DataFrame:
    """One row per cell record, every field a column."""
    columns = [field.name for field in dataclasses.fields(CellResult)]
    frame = pd.DataFrame([dataclasses.asdict(record) for record in records], columns=columns)
    frame["shots"] = frame["shots"].astype("object").where(frame["shots"].notna(), "full")
    frame["fewclue_split"] = frame["fewclue_split"].fillna("-")
    return frame


def method_label(method: str, zero_shot: bool) -> str:
    return f"{method} (zero-shot)" if zero_shot else method


def group_frame(cells: pd.DataFrame) -> pd.DataFrame:
    """Successful cells aggregated over seeds: mean/std of scores and mean of measurements."""
    ok = cells[cells["status"] == "success"]
    if ok.empty:
        return pd.DataFrame()
    grouped = ok.groupby(GROUP_KEYS, dropna=False, sort=False)
    frame = grouped.agg(
        seeds=("seed", "nunique"),
        score_mean=("score", "mean"),
        dev_mean=("dev_score", "mean"), majority=("majority_score", "mean"),
        metric=("metric", "first"), n_train=("n_train", "first"), n_eval=("n_eval", "first"),
        train_sps=("train_samples_per_s", "mean"), eval_sps=("eval_samples_per_s", "mean"),
        peak_mib=("peak_memory_bytes", lambda values: values.mean() / 2**20),
        memory_kind=("memory_kind", "first"),
        trainable=("trainable_params", "first"), total=("total_params", "first"),
        mlm_head=("mlm_head", "first"), device=("device", "first"), dtype=("dtype", "first"),
    ).reset_index()
    summaries = [summarize(group["score"].tolist()) for _, group in grouped]
    frame["score_std"] = [summary.std for summary in summaries]
    frame["score_sem"] = [summary.sem for summary in summaries]
    frame["score_ci_low"] = [summary.ci_low for summary in summaries]
    frame["score_ci_high"] = [summary.ci_high for summary in summaries]
    frame["trainable_share"] = frame["trainable"] / frame["total"]
    pairs = zip(frame["method"], frame["zero_shot"], strict=True)
    frame["method_label"] = [method_label(method, zero_shot) for method, zero_shot in pairs]
    return frame
