"""Scores against the number of training examples: per task, model and score-table row, the mean and a
95% band of the headline score at each shot count, where one method overtakes another, and a figure.

The band is the Student-t interval over the runs (seeds and splits) at that shot count
(reports.stats.summarize): seed scores only, a point where a shot count has one run. A crossover is a
change of which of two rows is ahead between two shot counts both ran (a tie in between is skipped
over); it is resolved when the two bands are apart at both of those shot counts."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import pandas as pd

from bench.core.metrics import METRICS, get_metric
from reports.plots import LEGEND, save_figure
from reports.ranking_inputs import headline_cells
from reports.runs import seed_text
from reports.stats import summarize

FULL = "full"  # the shots of a cell that trained on the whole train split
FIGURE = "shot_curves.png"


@dataclass(frozen=True)
class CurvePoint:
    shots: str
    mean: float
    low: float  # 95% Student-t band over runs; the mean for a single run
    high: float
    runs: int


@dataclass(frozen=True)
class ShotCurve:
    task: str
    model: str
    method: str  # the score-table row's label
    metric: str
    points: tuple[CurvePoint, ...]  # fewest shots first, the whole train split last


@dataclass(frozen=True)
class Crossover:
    task: str
    model: str
    overtaking: str  # behind at `before`, ahead at `after`
    overtaken: str
    before: str  # shot counts
    after: str
    resolved: bool  # the bands are apart at both shot counts

    @property
    def text(self) -> str:
        after = "the full train set" if self.after == FULL else f"{self.after} shots"
        before = f"{self.before}" if self.after != FULL else f"{self.before} shots"
        hedge = "" if self.resolved else " (the bands overlap there, so the order is not settled)"
        return (f"{self.overtaking} overtakes {self.overtaken} between {before} and {after} on "
                f"{self.task}{hedge}")


def shot_order(shots: str) -> tuple[int, float]:
    """Sort key: numeric shot counts ascending, then the whole train split."""
    return (1, 0.0) if shots == FULL else (0, float(shots))


def shot_curves(cells: pd.DataFrame) -> list[ShotCurve]:
    """One curve per task, model and row (reports.ranking_inputs.headline_cells); reads task, model,
    shots, metric and score of each run."""
    curves = []
    runs = headline_cells(cells)
    runs = runs.assign(shots=runs["shots"].map(seed_text))  # "8.0" (a column mixing 8 and "full") is 8
    rows_of = runs.groupby(["task", "model", "row_label"], sort=False)
    for (task, model, label), rows in rows_of:
        points = []
        for shots, at in sorted(rows.groupby("shots"), key=lambda item: shot_order(str(item[0]))):
            summary = summarize(at["score"].tolist())
            points.append(CurvePoint(str(shots), summary.mean, summary.ci_low, summary.ci_high, summary.n))
        metric = str(rows["metric"].iloc[0])
        curves.append(ShotCurve(str(task), str(model), str(label), metric, tuple(points)))
    return curves


def crossovers(curves: list[ShotCurve]) -> list[Crossover]:
    """Every change of the leader between two rows of a task and model, in shot order."""
    found = []
    for first, second in combinations(curves, 2):
        if (first.task, first.model) == (second.task, second.model):
            found += _pair_crossovers(first, second)
    return found


def _pair_crossovers(first: ShotCurve, second: ShotCurve) -> list[Crossover]:
    sign = 1.0 if first.metric not in METRICS or get_metric(first.metric).higher_is_better else -1.0
    theirs = {point.shots: point for point in second.points}
    shared = [(point, theirs[point.shots]) for point in first.points if point.shots in theirs]
    found, last = [], None  # last: the most recent shared point where one of the two was ahead
    for mine, other in shared:
        ahead = sign * (mine.mean - other.mean)
        if ahead == 0:
            continue
        if last is not None and (sign * (last[0].mean - last[1].mean) > 0) != (ahead > 0):
            overtaking, overtaken = (first, second) if ahead > 0 else (second, first)
            resolved = _apart(*last) and _apart(mine, other)
            found.append(Crossover(first.task, first.model, overtaking.method, overtaken.method,
                                   last[0].shots, mine.shots, resolved))
        last = (mine, other)
    return found


def _apart(first: CurvePoint, second: CurvePoint) -> bool:
    return first.high < second.low or second.high < first.low


def write_shot_curves(curves: list[ShotCurve], out_dir: Path) -> Path | None:
    """The figure (PNG and SVG twin, written atomically): one panel per task and model with at least
    two shot counts, each row a line with its band; None when no curve has two shot counts."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels: dict[tuple[str, str], list[ShotCurve]] = {}
    for curve in curves:
        if len(curve.points) >= 2:
            panels.setdefault((curve.task, curve.model), []).append(curve)
    if not panels:
        return None
    figure, axes = plt.subplots(1, len(panels), figsize=(5.0 * len(panels) + 2.5, 4.2), squeeze=False,
                                constrained_layout=True)
    for axis, ((task, model), panel) in zip(axes[0], panels.items(), strict=True):
        _panel(axis, panel, f"{task} ({model})")
    figure.suptitle("Score vs training examples")
    path = Path(out_dir) / FIGURE
    save_figure(figure, path)
    return path


def _panel(axis, panel: list[ShotCurve], title: str) -> None:
    ticks = sorted({point.shots for curve in panel for point in curve.points}, key=shot_order)
    position = {shots: index for index, shots in enumerate(ticks)}
    for curve in panel:
        xs = [position[point.shots] for point in curve.points]
        line, = axis.plot(xs, [100 * point.mean for point in curve.points], marker="o", label=curve.method)
        axis.fill_between(xs, [100 * point.low for point in curve.points],
                          [100 * point.high for point in curve.points], color=line.get_color(), alpha=0.15)
    axis.set_xticks(range(len(ticks)), ticks)
    axis.set_xlabel("training examples (shots)")
    axis.set_ylabel("score (task metric x100, mean and 95% band over seeds)")
    axis.set_title(title)
    axis.grid(alpha=0.3)
    axis.legend(**LEGEND)
