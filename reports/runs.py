"""What the gate counts: one record per run of a configuration (reports.aggregate.latest_per_run),
with a line saying which record counted where a run was stored more than once, and a score only
where it is finite."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from bench.core.records import CellStatus
from reports.aggregate import RUN_KEY, latest_per_run


@dataclass(frozen=True)
class OnePerRun:
    frame: pd.DataFrame  # one row per run: its newest record by finished_at (on a tie, the later row)
    notes: tuple[str, ...]  # one line per run stored more than once, naming the record that counts


def one_per_run(frame: pd.DataFrame, where: str = "the run") -> OnePerRun:
    """The newest record of each run, and a note for every run that had several."""
    if frame.empty:
        return OnePerRun(frame, ())
    frame = frame.assign(split=frame["split"].fillna("-").astype(str) if "split" in frame else "-",
                         finished_at=frame.get("finished_at", ""))
    kept = latest_per_run(frame)
    stored = frame.groupby(RUN_KEY, sort=False).size()
    notes = tuple(_note(row, int(stored[tuple(row[RUN_KEY])]), where)
                  for _, row in kept.iterrows() if stored[tuple(row[RUN_KEY])] > 1)
    return OnePerRun(kept, notes)


def _note(row: pd.Series, records: int, where: str) -> str:
    split = "" if row["split"] == "-" else f", split {row['split']}"
    finished = row["finished_at"] if isinstance(row["finished_at"], str) else ""
    when = finished or "no finish time recorded: the one stored last"
    return (f"{where} has {records} records of {row['method']} on {row['task']}, seed {row['seed']}{split} "
            f"(one configuration, seed and split; e.g. other library versions): it counts once, as its "
            f"newest record ({when}; cell {row['cell_id']})")


def scores(frame: pd.DataFrame) -> pd.Series:
    """The score column as floats (a record without a score is NaN)."""
    return pd.to_numeric(frame["score"], errors="coerce").astype(float)


def usable(frame: pd.DataFrame) -> pd.DataFrame:
    """Successful records with a finite score."""
    values = scores(frame)
    return frame[(frame["status"] == CellStatus.SUCCESS) & values.notna() & values.abs().ne(float("inf"))]


def unusable(frame: pd.DataFrame) -> pd.DataFrame:
    """Failed records, and successful ones without a finite score."""
    return frame.drop(index=usable(frame).index)
