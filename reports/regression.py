"""Regression check of a run against a stored baseline (a results.csv): configuration by
configuration (config_id), the score (reports.gate), the training throughput and the peak memory;
cells that crashed or scored NaN are failures, and configurations the run lacks are missing."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from bench.core.errors import BenchError
from bench.core.records import TEXT_FIELDS, CellStatus
from reports.aggregate import config_labels
from reports.gate import Pairing, ScoreJudgement, Verdict, judge_change, judge_score
from reports.runs import one_per_run, scores, unusable, usable
from reports.tolerances import Tolerances

__all__ = ["Finding", "Tolerances", "Verdict", "check_against_baseline", "environment_differences",
           "judge_change", "read_results_csv", "successful"]

GROUP = "config_id"
_NEEDED = [GROUP, "task", "method", "model", "shots", "status", "seed", "score", "train_samples_per_s",
           "peak_memory_bytes", "device", "versions", "method_config", "train_config"]
GATED_LIBRARIES = ("torch", "transformers", "peft")


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
    comparison: str = ""  # scores: what was paired or pooled; cells: why they failed or are missing
    detectable: float | None = None  # scores: the smallest drop these runs flag 9 times in 10 (fraction)


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
    baseline and the run (versions columns hold "torch=2.13.0,transformers=..."). Precision is not
    here: it is part of the configuration, so a run in another dtype is another configuration."""

    def versions(frame: pd.DataFrame, library: str) -> str:
        found = {part.split("=", 1)[1] for text in frame["versions"].dropna()
                 for part in str(text).split(",") if part.startswith(f"{library}=")}
        return "/".join(sorted(found)) or "unknown"

    pairs = [(library, versions(baseline, library), versions(current, library))
             for library in GATED_LIBRARIES]
    return [f"{name} {before} -> {now}" for name, before, now in pairs if before != now]


def successful(frame: pd.DataFrame) -> pd.DataFrame:
    return _text_columns(frame[frame["status"] == CellStatus.SUCCESS])


def check_against_baseline(current: pd.DataFrame, baseline: pd.DataFrame,
                           tolerances: Tolerances) -> list[Finding]:
    """One finding per measure of every configuration in either side; a configuration with cells
    that have no score also gets a `failed` finding."""
    current = one_per_run(_text_columns(current)).frame
    baseline = one_per_run(successful(baseline), "the baseline").frame
    base = usable(baseline)
    now, broken = usable(current), unusable(current)
    labels = config_labels(pd.concat([baseline, current], ignore_index=True))
    where = {key: rows.iloc[0] for frame in (baseline, current)
             for key, rows in frame.groupby(GROUP, sort=False)}

    def finding(key: str, measure: str, verdict: Verdict, **values) -> Finding:
        first = where[key]
        return Finding(str(first["task"]), labels[key], str(first["model"]), str(first["shots"]), measure,
                       verdict, **values)

    run_keys, base_keys = set(current[GROUP]), set(base[GROUP])
    findings = [finding(key, "cell", Verdict.MISSING, comparison=_missing_reason(where[key], current))
                for key in dict.fromkeys(base[GROUP]) if key not in run_keys]
    findings += [finding(key, "cell", Verdict.FAILED, comparison=_failure(rows, current))
                 for key, rows in broken.groupby(GROUP, sort=False)]
    unscored = set(baseline[GROUP]) - base_keys  # in the baseline, but none of its scores is usable
    findings += [finding(key, "score", Verdict.INCONCLUSIVE,
                         comparison="the baseline has no usable score of it (NaN, infinite or out of range)")
                 for key in dict.fromkeys(now[GROUP]) if key in unscored]
    findings += [finding(key, "cell", Verdict.NEW)
                 for key in dict.fromkeys(now[GROUP]) if key not in base_keys | unscored]
    for key in (key for key in dict.fromkeys(base[GROUP]) if key in set(now[GROUP])):
        mine, theirs = now[now[GROUP] == key], base[base[GROUP] == key]
        judged = judge_score(_by_run(mine), _by_run(theirs), floor=tolerances.accuracy_points / 100)
        findings.append(finding(key, "score", judged.verdict, baseline=judged.baseline,
                                current=judged.current, allowed=_allowed(judged), comparison=describe(judged),
                                detectable=judged.detectable))
        findings += [finding(key, measure, verdict, **values)
                     for measure, verdict, values in _resources(mine, theirs, tolerances)]
    return findings


def describe(judged: ScoreJudgement) -> str:
    """What the score row compared, in words."""
    runs = ", ".join(seed if split == "-" else f"{seed}/{split}" for seed, split in judged.keys)
    if judged.pairing == Pairing.PAIRED:
        if len(judged.keys) == judged.baseline_runs:
            return "paired (the same seeds and splits)"
        return f"paired on the run's seeds ({runs})"
    count = len(judged.keys)
    if judged.pairing == Pairing.WELCH:
        return f"Welch: {count} runs vs the baseline's {judged.baseline_runs}, no 2 seeds in common"
    if judged.pairing == Pairing.BORROWED:
        return f"{count} runs vs the baseline's {judged.baseline_runs}, the spread of the side with several"
    return "one run on each side: no spread to judge by"


def _allowed(judged: ScoreJudgement) -> str:
    return "-" if judged.allowed == float("inf") else f"-{100 * judged.allowed:.2f} points"


def _text_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """shots and the configuration's JSON as text, however the frame was read."""
    frame = frame.copy()
    frame["shots"] = frame["shots"].astype(str)
    for column in ("method_config", "train_config"):
        frame[column] = frame[column].fillna("").astype(str)
    return frame


def _by_run(rows: pd.DataFrame) -> dict[tuple[str, str], float]:
    keys = zip(rows["seed"].astype(str), rows["split"].astype(str), strict=True)
    return dict(zip(keys, scores(rows), strict=True))


def _failure(rows: pd.DataFrame, current: pd.DataFrame) -> str:
    total = int((current[GROUP] == rows[GROUP].iloc[0]).sum())
    failed = rows[rows["status"] != CellStatus.SUCCESS]
    errors = [str(error) for error in failed.get("error", pd.Series(dtype=str)).fillna("") if error]
    cause = f" ({errors[0]})" if errors else ""
    parts = [f"{len(failed)} of {total} cells failed{cause}"] if len(failed) else []
    if len(rows) > len(failed):
        parts.append(f"{len(rows) - len(failed)} of {total} cells without a finite score")
    return "; ".join(parts)


def _missing_reason(first: pd.Series, current: pd.DataFrame) -> str:
    """Why a baseline configuration may be absent: the run has it in another precision or device."""
    same = current[(current["task"] == first["task"]) & (current["method"] == first["method"])
                   & (current["model"] == first["model"]) & (current["shots"] == first["shots"])
                   & (current["method_config"] == first["method_config"])]
    settings = _json_or_empty(first["train_config"])
    same = same[[_json_or_empty(text) == settings for text in same["train_config"]]]
    dtype = str(first.get("dtype"))
    others = sorted({str(value) for value in same.get("dtype", pd.Series(dtype=str))} - {dtype})
    if others:
        return (f"the run has it in {'/'.join(others)}, the baseline in {dtype}: precision is part of the "
                f"configuration (run with --precision {dtype} to compare)")
    return "not in the run"


def _json_or_empty(text: str) -> dict:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _resources(mine: pd.DataFrame, theirs: pd.DataFrame,
               tolerances: Tolerances) -> list[tuple[str, Verdict, dict]]:
    """(measure, verdict, values) for train samples/s (same device only) and peak memory; a figure the
    baseline has and the run lacks is inconclusive."""
    out = []
    device = str(theirs["device"].iloc[0])
    speed = (_mean_of(theirs, "train_samples_per_s"), _mean_of(mine, "train_samples_per_s"))
    tolerance = tolerances.cpu_throughput if device.startswith("cpu") else tolerances.throughput
    comparable = device == str(mine["device"].iloc[0]) and tolerance is not None
    if comparable and speed[0] == speed[0] and speed[0] > 0:
        verdict = (Verdict.INCONCLUSIVE if speed[1] != speed[1] else
                   judge_change((speed[1] - speed[0]) / speed[0], tolerance))
        out.append(("train samples/s", verdict, {"baseline": speed[0], "current": speed[1],
                                                 "allowed": f"-{tolerance:.0%}"}))
    memory = (_mean_of(theirs, "peak_memory_bytes"), _mean_of(mine, "peak_memory_bytes"))
    if memory[0] > 0:
        verdict = (Verdict.INCONCLUSIVE if memory[1] != memory[1] else
                   judge_change((memory[0] - memory[1]) / memory[0], tolerances.memory))  # a rise regresses
        out.append(("peak memory", verdict, {"baseline": memory[0], "current": memory[1],
                                             "allowed": f"+{tolerances.memory:.0%}"}))
    return out


def _mean_of(rows: pd.DataFrame, column: str) -> float:
    return float(pd.to_numeric(rows[column], errors="coerce").mean())
