"""Paired difference of two methods (or two configurations) over the seeds and splits they share,
and, where both logged their samples (--log-samples), an exact test and a bootstrap interval on the
shared examples that count each example once over the seeds (reports.example_tests)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bench.core.errors import BenchError
from bench.core.samples import read_samples, samples_path
from reports.aggregate import config_labels
from reports.example_tests import ExampleTest, example_test
from reports.runs import one_per_run, scores, usable
from reports.stats import paired_difference

PLACE = ["task", "model", "shots"]


def _chosen(cells: pd.DataFrame, name: str, labels: dict[str, str]) -> pd.DataFrame:
    """The cells of a method name (when it ran in one configuration) or of a configuration label."""
    by_label = cells[cells["config_id"].map(labels) == name]
    if not by_label.empty:
        return by_label
    of_method = cells[cells["method"] == name]
    configurations = sorted({labels[config] for config in of_method["config_id"]})
    per_place = of_method.groupby(PLACE)["config_id"].nunique()
    if len(configurations) > 1 and per_place.max() > 1:
        raise BenchError(f"method {name} ran in {len(configurations)} configurations here: name one of "
                         f"{configurations} in --methods")
    return of_method


def shared_examples(first: pd.DataFrame, second: pd.DataFrame,
                    samples_dir: Path | None) -> ExampleTest | None:
    """The test on every example both cells of a shared seed and split scored (the seeds and splits
    with sample files on both sides); None when there are none."""
    if samples_dir is None:
        return None
    cells = [{(row.seed, row.split): row.cell_id for row in frame.itertuples()} for frame in (first, second)]
    runs = []
    for key in sorted(set(cells[0]) & set(cells[1]), key=str):
        paths = [samples_path(samples_dir, side[key]) for side in cells]
        if not all(path.exists() for path in paths):
            continue
        mine, theirs = ({(s.index, s.id): s.correct for s in read_samples(path)} for path in paths)
        runs.append({example: (mine[example], theirs[example]) for example in set(mine) & set(theirs)})
    runs = [run for run in runs if run]
    return example_test(runs) if runs else None


def paired_rows(cells: pd.DataFrame, first: str, second: str,
                samples_dir: Path | None = None) -> list[list[str]]:
    """Per task, model and shots: the paired difference over seeds, and the test on shared examples."""
    runs = one_per_run(cells).frame  # a run stored twice counts once, as its newest record
    ok = usable(runs)  # a cell without a finite score in range is no run of either method
    ok = ok.assign(score=scores(ok))
    labels = config_labels(ok)
    chosen = [_chosen(ok, name, labels) for name in (first, second)]
    rows = []
    for (task, model, shots), part in chosen[0].groupby(PLACE, sort=False):
        second = chosen[1]
        other = second[(second["task"] == task) & (second["model"] == model) & (second["shots"] == shots)]
        by_run = [{(row.seed, row.split): row.score for row in frame.itertuples()} for frame in (part, other)]
        try:
            summary, pairs = paired_difference(by_run[0], by_run[1])
        except ValueError:
            continue
        interval = ("n/a (one shared seed)" if len(pairs) < 2 else
                    f"[{100 * summary.ci_low:+.2f}, {100 * summary.ci_high:+.2f}]")
        rows.append([task, model, shots, str(len(pairs)), f"{100 * summary.mean:+.2f}", interval,
                     *_example_columns(shared_examples(part, other, samples_dir))])
    return rows


def _example_columns(test: ExampleTest | None) -> list[str]:
    if test is None:
        return ["-", "-", "-"]
    runs = f" x {test.runs} runs" if test.runs > 1 else ""
    return [f"{test.examples}{runs} ({test.first_only} / {test.second_only})",
            f"[{100 * test.ci_low:+.2f}, {100 * test.ci_high:+.2f}]", f"{test.p_value:.3g}"]
