"""How well dev selection over a --search grid did, per method configuration and table (selection_id):
the eval score of the dev-selected setting (the headline, as reports.search selects it), the oracle
(the best eval score of each seed's grid: a number no honest selection could use), the gap between the
two, and how well dev scores order the grid's settings the way eval scores do (Kendall's tau)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from bench.core.metrics import get_metric
from reports.resampling import percentile_interval
from reports.runs import one_per_run, scores
from reports.search import searched, selected_cells

RESAMPLES = 1000
RUN = ["seed", "split"]

HOW_TO_READ = (
    "How to read this: `selected` is the eval score of the setting each seed's dev score chose, the "
    "number the score tables report; `oracle` is the best eval score among each seed's settings, "
    "which only a look at the eval set could pick, so it is an upper bound, never a result. `gap` is "
    "oracle minus selected: what dev selection lost (0: dev found the best setting every time). "
    "Kendall's tau compares the order dev scores give the settings with the order eval scores give "
    "them, per seed, averaged over seeds: 1 is the same order, 0 no relation, below 0 reversed; a tau "
    "near 0 with a large gap says dev is too small or too different from eval to choose by.")


@dataclass(frozen=True)
class SelectionDiagnostic:
    task: str
    method: str
    model: str
    shots: str
    selection_id: str
    runs: int  # seeds and splits with a grid
    grid_points: int  # settings per run (the most any run has)
    selected: float  # mean over runs of the dev-selected setting's eval score (the headline)
    oracle: float  # mean over runs of the best eval score of the run's grid (an oracle, not a result)
    tau: float | None  # Kendall's tau-b of dev vs eval over each run's settings, mean over runs
    tau_low: float | None  # 95% bootstrap interval: runs, and within each its settings, drawn again
    tau_high: float | None

    @property
    def gap(self) -> float:
        """How much worse than the oracle the selection scored (in the metric's direction, >= 0)."""
        return abs(self.oracle - self.selected)


def selection_diagnostics(cells: pd.DataFrame, *, resamples: int = RESAMPLES,
                          seed: int = 0) -> list[SelectionDiagnostic]:
    """One diagnostic per selection group of the searched cells with a dev and an eval score; reads
    selection_id, seed, split, search_index, dev_score, score and metric. Deterministic for a seed."""
    grid = searched(one_per_run(cells).frame)
    grid = grid.assign(score=scores(grid), dev_score=pd.to_numeric(grid["dev_score"], errors="coerce"))
    grid = grid.dropna(subset=["score", "dev_score"])
    return [_diagnostic(group, resamples, seed) for _, group in grid.groupby("selection_id", sort=False)]


def _diagnostic(group: pd.DataFrame, resamples: int, seed: int) -> SelectionDiagnostic:
    spec = get_metric(str(group["metric"].iloc[0]))
    chosen = selected_cells(group)
    best = max if spec.higher_is_better else min
    runs = [rows for _, rows in group.groupby(RUN, sort=False)]
    taus = [run_tau(rows["dev_score"].to_numpy(), rows["score"].to_numpy()) for rows in runs]
    finite = [tau for tau in taus if math.isfinite(tau)]
    low, high = tau_interval(runs, resamples=resamples, seed=seed) if finite else (None, None)
    first = group.iloc[0]
    return SelectionDiagnostic(
        str(first["task"]), str(first["method"]), str(first["model"]), str(first["shots"]),
        str(first["selection_id"]), len(runs), max(len(rows) for rows in runs), float(chosen["score"].mean()),
        float(np.mean([best(rows["score"]) for rows in runs])), float(np.mean(finite)) if finite else None,
        low, high)


def run_tau(dev: np.ndarray, evaluated: np.ndarray) -> float:
    """Kendall's tau-b of one run's settings; NaN with fewer than two or when either side is constant."""
    if len(dev) < 2 or np.ptp(dev) == 0 or np.ptp(evaluated) == 0:
        return math.nan
    return float(stats.kendalltau(dev, evaluated).statistic)


def tau_interval(runs: list[pd.DataFrame], *, resamples: int, seed: int) -> tuple[float | None, float | None]:
    """95% percentile interval of the mean tau: each replicate draws the runs with replacement and,
    within each drawn run, its settings with replacement; a replicate where no drawn run has a defined
    tau is left out. (None, None) when no replicate has one."""
    generator = np.random.default_rng(seed)
    pairs = [(rows["dev_score"].to_numpy(), rows["score"].to_numpy()) for rows in runs]
    replicates = []
    for _ in range(resamples):
        taus = []
        for index in generator.integers(len(pairs), size=len(pairs)):
            dev, evaluated = pairs[index]
            drawn = generator.integers(len(dev), size=len(dev))
            taus.append(run_tau(dev[drawn], evaluated[drawn]))
        finite = [tau for tau in taus if math.isfinite(tau)]
        if finite:
            replicates.append(np.mean(finite))
    if not replicates:
        return None, None
    return percentile_interval(np.array(replicates))
