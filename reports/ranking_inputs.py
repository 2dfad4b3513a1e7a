"""The inputs of reports.ranking read from a report's cells: one table per task, model and shot count,
one row per configuration outside a search and one per search's dev selection (as the report's score
tables have them), with each run's score and, where its cell logged them (--log-samples), its
per-example predictions."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from bench.core.method import Role
from bench.core.samples import Sample, read_samples, samples_path
from reports.aggregate import config_labels
from reports.ranking import MethodRuns, RunPredictions, TableRanking, rank_methods
from reports.runs import one_per_run, scores, usable
from reports.search import selected_cells, selected_label

PLACE = ["task", "model", "shots"]  # one score table


@dataclass(frozen=True)
class RankingTable:
    task: str
    model: str
    shots: str
    metric: str
    n_labels: int  # from the samples' classes; 2 when no samples were logged
    methods: tuple[MethodRuns, ...]

    def ranked(self, *, seed: int = 0) -> TableRanking:
        return rank_methods(self.methods, metric=self.metric, n_labels=self.n_labels, seed=seed)


def headline_cells(cells: pd.DataFrame) -> pd.DataFrame:
    """One row per run (its newest record) behind each score-table row, with the row's label in
    `row_label`: configurations outside a search and each search's dev-selected cells; reference rows
    and cells without a usable score are left out."""
    runs = usable(one_per_run(cells).frame)
    runs = runs[runs["role"] != Role.REFERENCE].assign(score=scores(runs))
    plain = runs[runs["search"] == ""]
    plain = plain.assign(row_label=plain["config_id"].map(config_labels(plain)) if len(plain) else "")
    chosen = selected_cells(runs)
    targets = [", ".join(json.loads(search)) for search in chosen["search"]]
    labels = zip(chosen["method"], chosen["selection_protocol"], targets, strict=True)
    chosen = chosen.assign(row_label=[selected_label(*label) for label in labels])
    return pd.concat([plain, chosen], ignore_index=True)


def ranking_tables(cells: pd.DataFrame, samples_dir: Path | None = None) -> list[RankingTable]:
    """One table per task, model and shot count of the headline cells (see headline_cells)."""
    tables = []
    for (task, model, shots), part in headline_cells(cells).groupby(PLACE, sort=False):
        methods, label_counts = [], [2]
        for label, rows in part.groupby("row_label", sort=False):
            keyed = {(row.seed, row.split): row for row in rows.itertuples()}
            predictions = {}
            for key, row in keyed.items():
                read = _predictions(samples_dir, row.cell_id)
                if read is not None:
                    predictions[key], labels = read
                    label_counts.append(labels)
            methods.append(MethodRuns(str(label), {key: float(row.score) for key, row in keyed.items()},
                                      predictions))
        tables.append(RankingTable(task, model, shots, str(part["metric"].iloc[0]), max(label_counts),
                                   tuple(methods)))
    return tables


def _predictions(samples_dir: Path | None, cell_id: str) -> tuple[RunPredictions, int] | None:
    """A cell's samples as label indices (in the order of their class scores, the task's label order),
    and the number of labels; None when the cell has no samples file or a label outside those."""
    if samples_dir is None or not samples_path(samples_dir, cell_id).exists():
        return None
    samples = read_samples(samples_path(samples_dir, cell_id))
    labels = list(samples[0].probabilities) if samples else []
    if not samples or any(sample.gold not in labels or sample.prediction not in labels for sample in samples):
        return None
    return RunPredictions(tuple(_key(sample) for sample in samples),
                          tuple(labels.index(sample.gold) for sample in samples),
                          tuple(labels.index(sample.prediction) for sample in samples)), len(labels)


def _key(sample: Sample) -> str:
    return f"{sample.index}:{sample.id}"
