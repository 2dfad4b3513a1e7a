"""What the gate counts: one record per run of a configuration (reports.aggregate.latest_per_run),
with a line saying which record counted where a run was stored more than once, and a score only
where it is finite."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from bench.core.errors import BenchError
from bench.core.metrics import METRICS, get_metric
from bench.core.records import CellStatus
from reports.aggregate import RUN_KEY, fold_means, fold_text, latest_per_run


@dataclass(frozen=True)
class OnePerRun:
    frame: pd.DataFrame  # one row per run: its newest record by finished_at (on a tie, the later row);
    # under a K-fold selection protocol, the mean of its K folds' newest records (complete runs only)
    notes: tuple[str, ...]  # one line per run stored more than once, naming the record that counts


def one_per_run(frame: pd.DataFrame, where: str = "the run") -> OnePerRun:
    """The newest record of each run, and a note for every run that had several."""
    if frame.empty:
        return OnePerRun(frame, ())
    for column in ("config_id", "seed"):
        if frame[column].isna().any():
            raise BenchError(f"{where} has a record without a {column}: pass results written by PETBench "
                             f"(run_bench.py report rewrites results.csv from results.jsonl)")
    frame = frame.assign(seed=frame["seed"].map(seed_text),
                         split=frame["split"].fillna("-").astype(str) if "split" in frame else "-",
                         finished_at=frame.get("finished_at", ""))
    if "fold" in frame.columns:  # a K-fold protocol's run is its K fold records (results.csv: numbers)
        frame = frame.assign(fold=frame["fold"].map(fold_text))
    key = [*RUN_KEY, "fold"] if "fold" in frame.columns else RUN_KEY
    newest = latest_per_run(frame)
    stored = frame.groupby(key, sort=False).size()
    notes = tuple(_note(row, int(stored[tuple(row[key])]), where)
                  for _, row in newest.iterrows() if stored[tuple(row[key])] > 1)
    return OnePerRun(fold_means(newest) if "fold" in frame.columns else newest, notes)


def _note(row: pd.Series, records: int, where: str) -> str:
    split = "" if row["split"] == "-" else f", split {row['split']}"
    finished = row["finished_at"] if isinstance(row["finished_at"], str) else ""
    when = finished or "no finish time recorded: the one stored last"
    cell = f"; cell {row['cell_id']}" if isinstance(row.get("cell_id"), str) else ""
    return (f"{where} has {records} records of {row['method']} on {row['task']}, seed {row['seed']}{split} "
            f"(one configuration, seed and split; e.g. other library versions): it counts once, as its "
            f"newest record ({when}{cell})")


def seed_text(seed: object) -> str:
    """A seed as text, the same however the file stored it (13, 13.0, "13")."""
    try:
        number = float(seed)
    except (TypeError, ValueError):
        return str(seed)
    return str(int(number)) if number.is_integer() else str(seed)


def scores(frame: pd.DataFrame) -> pd.Series:
    """The score column as floats (a record without a numeric score, a boolean included, is NaN)."""
    numeric = frame["score"].map(lambda value: None if isinstance(value, bool) else value)
    return pd.to_numeric(numeric, errors="coerce").astype(float)


def usable(frame: pd.DataFrame) -> pd.DataFrame:
    """Successful records with a finite score inside its metric's range."""
    values = scores(frame)
    metrics = frame["metric"].astype(str) if "metric" in frame else pd.Series("", index=frame.index)
    bounds = metrics.map(_bounds)
    in_range = values.notna() & (values >= bounds.str[0]) & (values <= bounds.str[1])
    return frame[(frame["status"] == CellStatus.SUCCESS) & in_range]


def _bounds(metric: str) -> tuple[float, float]:
    """A metric's bounds (a score outside them, a percentage or a sign error, is no score); a metric
    this PETBench does not know is taken as a fraction."""
    return get_metric(metric).bounds if metric in METRICS else get_metric("accuracy").bounds


def unusable(frame: pd.DataFrame) -> pd.DataFrame:
    """Failed records, and successful ones without a finite score inside its metric's range."""
    return frame.drop(index=usable(frame).index)
