"""Regression check of a run against a stored baseline (a results.csv), cell group by group."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from bench.errors import BenchError
from reports.stats import summarize

GROUP = ["task", "method", "model", "shots"]
_NEEDED = [*GROUP, "status", "seed", "score", "train_samples_per_s", "peak_memory_bytes", "device",
           "versions"]


@dataclass(frozen=True)
class Tolerances:
    accuracy_points: float = 1.0  # score drop allowed, in points (x100)
    accuracy_sems: float = 2.0  # ... or this many standard errors of the baseline over seeds
    throughput: float = 0.15  # relative drop in train samples/s (same device and model only)
    memory: float = 0.15  # relative rise in peak memory


@dataclass(frozen=True)
class Finding:
    task: str
    method: str
    model: str
    shots: str
    measure: str  # "score", "train samples/s", "peak memory", or "cell"
    verdict: str  # "regressed", "improved", "ok", "missing" (baseline only) or "new" (run only)
    baseline: float | None = None
    current: float | None = None
    allowed: str = ""


def read_results_csv(path: Path) -> pd.DataFrame:
    if not Path(path).is_file():
        raise BenchError(f"baseline {path} not found: pass a results.csv or a file under baselines/")
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise BenchError(f"{path} is not a results CSV ({type(error).__name__}); "
                         f"pass a results.csv") from error
    missing = [column for column in _NEEDED if column not in frame.columns]
    if missing:
        raise BenchError(f"{path} lacks columns {missing}: pass a results.csv written by PETBench")
    return _successful(frame)


GATED_LIBRARIES = ("torch", "transformers", "peft")


def library_differences(current: pd.DataFrame, baseline: pd.DataFrame) -> list[str]:
    """'transformers 5.23.0 -> 5.24.0' for each gated library whose versions differ between the
    baseline and the run (versions columns hold "torch=2.13.0,transformers=...")."""

    def versions(frame: pd.DataFrame, library: str) -> str:
        found = {part.split("=", 1)[1] for text in frame["versions"].dropna()
                 for part in str(text).split(",") if part.startswith(f"{library}=")}
        return "/".join(sorted(found)) or "unknown"

    pairs = [(library, versions(baseline, library), versions(current, library))
             for library in GATED_LIBRARIES]
    return [f"{library} {before} -> {now}" for library, before, now in pairs if before != now]


def _successful(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame[frame["status"] == "success"].copy()
    frame["shots"] = frame["shots"].astype(str)
    return frame


def _group_stats(frame: pd.DataFrame) -> dict[tuple, dict]:
    out = {}
    for key, group in frame.groupby(GROUP, sort=False):
        summary = summarize(group["score"].astype(float).tolist())
        out[key] = {"score": summary.mean, "sem": summary.sem, "device": group["device"].iloc[0],
                    "speed": float(group["train_samples_per_s"].mean()),
                    "memory": float(group["peak_memory_bytes"].mean())}
    return out


def check_against_baseline(current: pd.DataFrame, baseline: pd.DataFrame,
                           tolerances: Tolerances) -> list[Finding]:
    """One finding per measure of every group in either run."""
    now, before = _group_stats(_successful(current)), _group_stats(baseline)
    findings = [Finding(*key, measure="cell", verdict="missing") for key in before if key not in now]
    findings += [Finding(*key, measure="cell", verdict="new") for key in now if key not in before]
    for key in (key for key in before if key in now):
        base, cur = before[key], now[key]
        allowed = max(tolerances.accuracy_points / 100, tolerances.accuracy_sems * base["sem"])
        findings.append(_verdict(key, "score", base["score"], cur["score"], -allowed, allowed,
                                 f"-{100 * allowed:.2f} points"))
        if base["device"] == cur["device"]:
            findings.append(_verdict(key, "train samples/s", base["speed"], cur["speed"],
                                     -tolerances.throughput * base["speed"],
                                     tolerances.throughput * base["speed"], f"-{tolerances.throughput:.0%}"))
        # memory: a rise is the regression, so compare the negated values
        findings.append(_verdict(key, "peak memory", -base["memory"], -cur["memory"],
                                 -tolerances.memory * base["memory"], tolerances.memory * base["memory"],
                                 f"+{tolerances.memory:.0%}", flip=True))
    return findings


def _verdict(key: tuple, measure: str, base: float, cur: float, low: float, high: float, allowed: str,
             flip: bool = False) -> Finding:
    change = cur - base
    verdict = "regressed" if change < low else "improved" if change > high else "ok"
    sign = -1 if flip else 1
    return Finding(*key, measure=measure, verdict=verdict, baseline=sign * base, current=sign * cur,
                   allowed=allowed)
