"""Regression check of a run against a stored baseline (a results.csv): configuration by
configuration (config_id), the score, the training throughput and the peak memory."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import pandas as pd

from bench.core.errors import BenchError
from bench.core.records import TEXT_FIELDS, CellStatus
from reports.aggregate import config_labels
from reports.stats import summarize

GROUP = "config_id"
_NEEDED = [GROUP, "task", "method", "model", "shots", "status", "seed", "score", "train_samples_per_s",
           "peak_memory_bytes", "device", "versions", "method_config", "train_config"]
GATED_LIBRARIES = ("torch", "transformers", "peft")


class Verdict(StrEnum):
    REGRESSED = "regressed"
    MISSING = "missing"  # in the baseline only
    IMPROVED = "improved"
    NEW = "new"  # in the run only
    OK = "ok"


@dataclass(frozen=True)
class Tolerances:
    accuracy_points: float = 1.0  # score drop allowed, in points (x100)
    accuracy_sems: float = 2.0  # ... or this many standard errors of the baseline over seeds
    throughput: float = 0.15  # relative drop in train samples/s on a GPU (same device only)
    cpu_throughput: float | None = None  # on a CPU; None: reported, not gated (shared cores are noisy)
    memory: float = 0.15  # relative rise in peak memory


@dataclass(frozen=True)
class Finding:
    task: str
    method: str  # the configuration's label
    model: str
    shots: str
    measure: str  # "score", "train samples/s", "peak memory", or "cell"
    verdict: Verdict
    baseline: float | None = None
    current: float | None = None
    allowed: str = ""
    comparison: str = ""  # for scores: paired on the run's seeds and splits, or mean against mean


def read_results_csv(path: Path) -> pd.DataFrame:
    if not Path(path).is_file():
        raise BenchError(f"baseline {path} not found: pass a results.csv or a file under baselines/")
    try:
        # hashes like config_id may look like numbers ("0123456789", "12e4567890"): text stays text
        text = {name: str for name in TEXT_FIELDS | {"shots"}}
        frame = pd.read_csv(path, keep_default_na=False, na_values=[""], dtype=text)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise BenchError(f"{path} is not a results CSV ({type(error).__name__}); "
                         f"pass a results.csv") from error
    missing = [column for column in _NEEDED if column not in frame.columns]
    if missing:
        raise BenchError(f"{path} lacks columns {missing}: pass a results.csv written by this PETBench "
                         f"(store the baseline again with `run_bench.py baseline`)")
    return successful(frame)


def environment_differences(current: pd.DataFrame, baseline: pd.DataFrame) -> list[str]:
    """'transformers 5.23.0 -> 5.24.0' for each gated library whose versions differ between the
    baseline and the run (versions columns hold "torch=2.13.0,transformers=..."), and
    'dtype fp32 -> bfloat16' when the precision differs."""

    def shown(found: set[str]) -> str:
        return "/".join(sorted(found)) or "unknown"

    def versions(frame: pd.DataFrame, library: str) -> str:
        return shown({part.split("=", 1)[1] for text in frame["versions"].dropna()
                      for part in str(text).split(",") if part.startswith(f"{library}=")})

    def dtypes(frame: pd.DataFrame) -> str:
        return shown({str(value) for value in frame.get("dtype", pd.Series()).dropna()})

    pairs = [(library, versions(baseline, library), versions(current, library))
             for library in GATED_LIBRARIES]
    pairs.append(("dtype", dtypes(baseline), dtypes(current)))
    return [f"{name} {before} -> {now}" for name, before, now in pairs if before != now]


def successful(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame[frame["status"] == CellStatus.SUCCESS].copy()
    frame["shots"] = frame["shots"].astype(str)
    for column in ("method_config", "train_config"):
        frame[column] = frame[column].fillna("").astype(str)
    return frame


def _runs_in_order(group: pd.DataFrame) -> list[tuple[str, str]]:
    splits = group["split"] if "split" in group else pd.Series("-", index=group.index)
    return list(zip(group["seed"].astype(str), splits.astype(str), strict=True))


def _paired_score(base: dict, runs: set[tuple[str, str]]) -> tuple[float, str]:
    """The baseline's mean over the run's own seeds and splits when it has them all (a paired
    comparison), else its mean over all of its runs; and which comparison that is."""
    scores = base["by_run"]
    if runs and runs <= set(scores) and runs != set(scores):
        seeds = ", ".join(sorted(seed for seed, _ in runs))
        return sum(scores[run] for run in runs) / len(runs), f"paired on the run's seeds ({seeds})"
    if runs == set(scores):
        return base["score"], "paired (the same seeds and splits)"
    return base["score"], f"run mean vs baseline mean over {len(scores)} runs"


def _group_stats(frame: pd.DataFrame) -> dict[str, dict]:
    out = {}
    for key, group in frame.groupby(GROUP, sort=False):
        summary = summarize(group["score"].astype(float).tolist())
        first = group.iloc[0]
        by_run = dict(zip(_runs_in_order(group), group["score"].astype(float), strict=True))
        out[key] = {"score": summary.mean, "sem": summary.sem, "device": first["device"], "by_run": by_run,
                    "runs": set(by_run),
                    "speed": float(group["train_samples_per_s"].mean()),
                    "memory": float(group["peak_memory_bytes"].mean()),
                    "where": (first["task"], first["model"], str(first["shots"]))}
    return out


def check_against_baseline(current: pd.DataFrame, baseline: pd.DataFrame,
                           tolerances: Tolerances) -> list[Finding]:
    """One finding per measure of every configuration in either run."""
    now, before = _group_stats(successful(current)), _group_stats(baseline)
    labels = config_labels(pd.concat([baseline, successful(current)], ignore_index=True))

    def finding(key: str, stats: dict, measure: str, verdict: Verdict, **values) -> Finding:
        task, model, shots = stats["where"]
        return Finding(task, labels[key], model, shots, measure, verdict, **values)

    findings = [finding(key, before[key], "cell", Verdict.MISSING) for key in before if key not in now]
    findings += [finding(key, now[key], "cell", Verdict.NEW) for key in now if key not in before]
    for key in (key for key in before if key in now):
        base, cur = before[key], now[key]
        allowed = max(tolerances.accuracy_points / 100, tolerances.accuracy_sems * base["sem"])
        base_score, comparison = _paired_score(base, cur["runs"])
        findings.append(finding(key, base, "score", judge_change(cur["score"] - base_score, allowed),
                                baseline=base_score, current=cur["score"],
                                allowed=f"-{100 * allowed:.2f} points", comparison=comparison))
        speed_tolerance = _speed_tolerance(tolerances, base["device"])
        if base["device"] == cur["device"] and speed_tolerance is not None and base["speed"] == base["speed"]:
            change = (cur["speed"] - base["speed"]) / base["speed"]
            findings.append(finding(key, base, "train samples/s", judge_change(change, speed_tolerance),
                                    baseline=base["speed"], current=cur["speed"],
                                    allowed=f"-{speed_tolerance:.0%}"))
        if base["memory"] > 0:
            change = (base["memory"] - cur["memory"]) / base["memory"]  # a rise is the regression
            findings.append(finding(key, base, "peak memory", judge_change(change, tolerances.memory),
                                    baseline=base["memory"], current=cur["memory"],
                                    allowed=f"+{tolerances.memory:.0%}"))
    return findings


def _speed_tolerance(tolerances: Tolerances, device: str) -> float | None:
    return tolerances.cpu_throughput if str(device).startswith("cpu") else tolerances.throughput


def judge_change(change: float, allowed: float) -> Verdict:
    """Regressed below -allowed, improved above +allowed, else ok."""
    if change < -allowed:
        return Verdict.REGRESSED
    return Verdict.IMPROVED if change > allowed else Verdict.OK
