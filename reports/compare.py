"""Paired difference of two methods (or two configurations) over the seeds and splits they share."""

from __future__ import annotations

import pandas as pd

from bench.core.errors import BenchError
from bench.core.records import CellStatus
from reports.aggregate import config_labels
from reports.stats import paired_difference


def _chosen(cells: pd.DataFrame, name: str, labels: dict[str, str]) -> pd.DataFrame:
    """The cells of a method name (when it ran in one configuration) or of a configuration label."""
    by_label = cells[cells["config_id"].map(labels) == name]
    if not by_label.empty:
        return by_label
    of_method = cells[cells["method"] == name]
    configurations = sorted({labels[config] for config in of_method["config_id"]})
    per_place = of_method.groupby(["task", "model", "shots"])["config_id"].nunique()
    if len(configurations) > 1 and per_place.max() > 1:
        raise BenchError(f"method {name} ran in {len(configurations)} configurations here: name one of "
                         f"{configurations} in --methods")
    return of_method


def paired_rows(cells: pd.DataFrame, first: str, second: str) -> list[list[str]]:
    ok = cells[cells["status"] == CellStatus.SUCCESS]
    labels = config_labels(ok)
    chosen = [_chosen(ok, name, labels) for name in (first, second)]
    rows = []
    for (task, model, shots), part in chosen[0].groupby(["task", "model", "shots"], sort=False):
        second = chosen[1]
        other = second[(second["task"] == task) & (second["model"] == model) & (second["shots"] == shots)]
        scores = [{(row.seed, row.split): row.score for row in frame.itertuples()} for frame in (part, other)]
        try:
            summary, pairs = paired_difference(scores[0], scores[1])
        except ValueError:
            continue
        interval = ("n/a (one shared seed)" if len(pairs) < 2 else
                    f"[{100 * summary.ci_low:+.2f}, {100 * summary.ci_high:+.2f}]")
        rows.append([task, model, shots, str(len(pairs)), f"{100 * summary.mean:+.2f}", interval])
    return rows
