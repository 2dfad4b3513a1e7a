"""Which methods of one score table can be told apart: a 95% interval per method, tiers as letters, and
how stable the ranking is under resampling.

Evidence. When every scored run (seed and split) of every method in the table has its per-example
predictions (--log-samples), everything rests on seeds and examples: intervals and the tests come from
the bootstrap of reports.resampling (runs and eval examples drawn with replacement, crossed: every
seed scored the same examples), with the metric recomputed on every resample. Otherwise everything
rests on seed scores: Student-t intervals (reports.stats.summarize), paired t-tests on the runs two
methods share, and a bootstrap of runs for stability; the table's note says which.

Tier rule. Every pair of methods is tested for a difference in mean score: on examples, by the
two-sided bootstrap p of the paired difference over the runs and examples all methods share (both
methods scored on the same drawn runs and examples); on seeds, by a paired t-test over the runs the two
share (p = 1 when they share fewer than two, or their scores never differ). The p-values are
Holm-adjusted over all pairs of the table; a pair differs when its adjusted p < ALPHA. Letters follow
(reports.letters.compact_letters): two methods share a letter exactly when they do not differ; `a`
marks the best mean's group. scripts/ranking_calibration.py measures the rule's error rates."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import combinations

import numpy as np
from scipy import stats

from bench.core.metrics import get_metric
from reports.confusion_metrics import outcome_codes
from reports.letters import compact_letters, holm
from reports.rank_stability import RankStability, rank_stability
from reports.resampling import (
    RunOutcomes,
    example_replicates,
    percentile_interval,
    run_scores,
    seed_replicates,
    two_sided_p,
)
from reports.stats import summarize

ALPHA = 0.05  # family-wise, over all pairs of a table
RESAMPLES = 1000  # per interval; the joint replicates of the tests use at least 100 per pair (see below)
RunKey = tuple[str, str]  # (seed, split)


class Evidence(StrEnum):
    EXAMPLES = "examples"  # per-example predictions of every run: two-level bootstrap
    SEEDS = "seeds"  # seed scores only: t-intervals and paired t-tests


@dataclass(frozen=True)
class RunPredictions:
    """One run's eval examples: a key per example (the same example, the same key in every cell), gold
    and predicted label indices."""

    examples: tuple[str, ...]
    golds: tuple[int, ...]
    predictions: tuple[int, ...]


@dataclass(frozen=True)
class MethodRuns:
    """One row of a score table: its score per run, and per-example predictions where logged."""

    name: str
    scores: Mapping[RunKey, float]
    predictions: Mapping[RunKey, RunPredictions] = field(default_factory=dict)


@dataclass(frozen=True)
class ScoreInterval:
    name: str
    mean: float  # over runs of the metric on each run's examples, a fraction
    low: float  # 95%: bootstrap percentiles (examples) or Student t (seeds); the mean for one seed score
    high: float
    runs: int


@dataclass(frozen=True)
class PairTest:
    better: str  # the better mean of the two (the higher, unless the metric's lower is better)
    worse: str
    difference: float  # |better - worse|, over the runs (and examples) the test used
    p_value: float
    adjusted_p: float  # Holm, over all pairs of the table

    @property
    def differ(self) -> bool:
        return self.adjusted_p < ALPHA


@dataclass(frozen=True)
class TableRanking:
    evidence: Evidence
    note: str  # one sentence: what the intervals and tiers rest on
    intervals: tuple[ScoreInterval, ...]  # best mean first
    letters: Mapping[str, str]  # method -> letters; a shared letter: not told apart
    tests: tuple[PairTest, ...]
    stability: RankStability | None  # None: fewer than two methods, or too few runs to resample


def rank_methods(methods: Sequence[MethodRuns], *, metric: str, n_labels: int = 2,
                 resamples: int = RESAMPLES, seed: int = 0) -> TableRanking:
    """Intervals, Holm-corrected tiers and rank stability of a table's methods (see the module's rules);
    deterministic for a given seed."""
    if len({method.name for method in methods}) != len(methods) or not methods:
        raise ValueError("a table needs methods with distinct names")
    sign = 1.0 if get_metric(metric).higher_is_better else -1.0  # an unknown name fails here
    if all(_has_every_prediction(method) for method in methods):
        return _on_examples(methods, metric, n_labels, resamples, seed, sign)
    return _on_seeds(methods, resamples, seed, sign)


def _has_every_prediction(method: MethodRuns) -> bool:
    return bool(method.scores) and set(method.scores) <= set(method.predictions)


def _on_examples(methods: Sequence[MethodRuns], metric: str, n_labels: int, resamples: int,
                 seed: int, sign: float) -> TableRanking:
    intervals = [_example_interval(method, metric, n_labels, resamples, seed) for method in methods]
    shared = shared_runs(methods, n_labels)
    pairs = len(methods) * (len(methods) - 1) // 2
    replicates = (example_replicates(shared, metric=metric, n_labels=n_labels, seed=seed + 1,
                                     resamples=max(resamples, 100 * pairs)) if shared else None)
    means = _means(shared, metric, n_labels) if shared else None
    raw = {}
    for first, second in combinations(range(len(methods)), 2):
        if replicates is None:
            raw[(first, second)] = (0.0, 1.0)
            continue
        raw[(first, second)] = (float(means[first] - means[second]),
                                two_sided_p(replicates[:, first] - replicates[:, second]))
    largest = max(run.codes.shape[1] for run in shared) if shared else 0
    note = (f"Intervals and tiers rest on seeds and examples: a bootstrap of runs and of eval examples "
            f"({len(shared)} runs and up to {largest} examples shared by every method); tiers: paired "
            f"bootstrap tests, Holm-corrected, alpha {ALPHA}.")
    stability = (rank_stability([method.name for method in methods], sign * means, sign * replicates)
                 if shared else None)
    return _assemble(Evidence.EXAMPLES, note, methods, intervals, raw, stability, sign)


def _means(runs: Sequence[RunOutcomes], metric: str, n_labels: int) -> np.ndarray:
    """Each method's mean over the runs of its metric on the run's examples."""
    return np.mean([run_scores(run.codes, np.ones((1, run.codes.shape[1])), metric=metric,
                               n_labels=n_labels)[0] for run in runs], axis=0)


def _example_interval(method: MethodRuns, metric: str, n_labels: int, resamples: int,
                      seed: int) -> ScoreInterval:
    runs = shared_runs([method], n_labels)
    replicates = example_replicates(runs, metric=metric, n_labels=n_labels, resamples=resamples, seed=seed)
    low, high = percentile_interval(replicates[:, 0])
    return ScoreInterval(method.name, float(_means(runs, metric, n_labels)[0]), low, high, len(runs))


def shared_runs(methods: Sequence[MethodRuns], n_labels: int) -> list[RunOutcomes]:
    """Per run that every method scored, the outcomes of the examples they all scored, each example in
    its column among every example of these runs; runs without such an example are left out."""
    keys = sorted(set.intersection(*(set(method.predictions) for method in methods)))
    indexed = {key: [dict(zip(method.predictions[key].examples, _codes(method.predictions[key], n_labels),
                              strict=True)) for method in methods] for key in keys}
    common = {key: sorted(set.intersection(*(set(index) for index in indexed[key]))) for key in keys}
    column = {example: place for place, example in
              enumerate(sorted({example for examples in common.values() for example in examples}))}
    return [RunOutcomes(np.array([[index[example] for example in common[key]] for index in indexed[key]]),
                        np.array([column[example] for example in common[key]]))
            for key in keys if common[key]]


def _codes(run: RunPredictions, n_labels: int) -> np.ndarray:
    return outcome_codes(run.golds, run.predictions, n_labels)


def _on_seeds(methods: Sequence[MethodRuns], resamples: int, seed: int, sign: float) -> TableRanking:
    intervals = []
    for method in methods:
        summary = summarize(list(method.scores.values()))
        intervals.append(ScoreInterval(method.name, summary.mean, summary.ci_low, summary.ci_high, summary.n))
    raw = {(first, second): _paired_t(methods[first], methods[second])
           for first, second in combinations(range(len(methods)), 2)}
    keys = sorted(set.intersection(*(set(method.scores) for method in methods)))
    stability = None
    if len(keys) >= 2:
        scores = np.array([[method.scores[key] for method in methods] for key in keys])
        replicates = seed_replicates(scores, resamples=max(resamples, 100), seed=seed + 1)
        stability = rank_stability([method.name for method in methods], sign * scores.mean(axis=0),
                                   sign * replicates)
    note = (f"Per-example predictions are missing for some runs, so intervals and tiers rest on seed scores "
            f"only: Student-t intervals and paired t-tests over shared seeds, Holm-corrected, alpha {ALPHA}"
            + ("." if stability else "; too few shared seeds to resample for rank stability."))
    return _assemble(Evidence.SEEDS, note, methods, intervals, raw, stability, sign)


def _paired_t(first: MethodRuns, second: MethodRuns) -> tuple[float, float]:
    """(mean difference, two-sided p) over the runs both scored; p = 1 without at least two, or when the
    differences have no spread (t is undefined, and nothing tells the two apart beyond their mean)."""
    keys = sorted(set(first.scores) & set(second.scores))
    differences = [first.scores[key] - second.scores[key] for key in keys]
    mean = float(np.mean(differences)) if keys else 0.0
    if len(keys) < 2 or np.std(differences) == 0:
        return mean, 1.0
    p_value = float(stats.ttest_1samp(differences, 0.0).pvalue)
    return mean, p_value if math.isfinite(p_value) else 1.0


def _assemble(evidence: Evidence, note: str, methods: Sequence[MethodRuns], intervals: list[ScoreInterval],
              raw: dict[tuple[int, int], tuple[float, float]], stability: RankStability | None,
              sign: float) -> TableRanking:
    """Holm over the pairs, letters in order of the mean, best first (sign -1: lower is better)."""
    adjusted = holm({pair: p_value for pair, (_, p_value) in raw.items()})
    tests = []
    for (first, second), (difference, p_value) in raw.items():
        better, worse = (first, second) if sign * difference >= 0 else (second, first)
        tests.append(PairTest(methods[better].name, methods[worse].name, abs(difference), p_value,
                              adjusted[(first, second)]))
    ordered = sorted(intervals, key=lambda interval: -sign * interval.mean)
    different = {frozenset((test.better, test.worse)) for test in tests if test.differ}
    letters = compact_letters([interval.name for interval in ordered], different)
    return TableRanking(evidence, note, tuple(ordered), letters, tuple(tests), stability)
