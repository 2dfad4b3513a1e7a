"""Tests on the eval examples two methods both scored (--log-samples), over several seeds and splits.

The seeds score the same examples, so an example is one unit of evidence however many seeds saw it:
the exact test flips the two methods' labels per example, all its seeds together (with one seed it
is McNemar's exact test), and the bootstrap resamples examples, each with its outcomes over the seeds.
Repeating a seed therefore changes neither the p-value nor the interval."""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import signal, stats

Outcomes = Mapping[Hashable, tuple[bool, bool]]  # example -> (first right, second right), one seed and split
RESAMPLES = 2000
_CHUNK = 250


@dataclass(frozen=True)
class ExampleTest:
    examples: int  # examples both scored, per seed and split (the largest count)
    runs: int  # seeds and splits with samples on both sides
    first_only: int  # (example, run) outcomes right by the first only, summed over the runs
    second_only: int
    p_value: float  # two-sided, exact; 1.0 when no example is discordant
    ci_low: float  # 95% bootstrap interval of first - second accuracy (mean over the runs), as fractions
    ci_high: float


def example_test(runs: Sequence[Outcomes], *, resamples: int = RESAMPLES, seed: int = 0) -> ExampleTest:
    """Exact sign-flip test and bootstrap interval over examples, each example's seeds kept together."""
    if not runs or not any(runs):
        raise ValueError("no shared examples")
    examples = sorted({example for run in runs for example in run}, key=str)
    column = {example: index for index, example in enumerate(examples)}
    summed = np.zeros((len(runs), len(examples)))
    counted = np.zeros((len(runs), len(examples)))
    for row, run in enumerate(runs):
        for example, (first, second) in run.items():
            summed[row, column[example]] += int(first) - int(second)
            counted[row, column[example]] += 1
    first_only = sum(first and not second for run in runs for first, second in run.values())
    second_only = sum(second and not first for run in runs for first, second in run.values())
    low, high = _bootstrap(summed, counted, resamples, seed)
    p_value = sign_flip_p(summed.sum(axis=0).astype(int).tolist())
    return ExampleTest(max(len(run) for run in runs), len(runs), first_only, second_only, p_value, low, high)


def sign_flip_p(totals: Sequence[int]) -> float:
    """Two-sided exact p of sum(totals) when each example's total is equally likely either sign."""
    sizes = Counter(abs(total) for total in totals if total)
    if not sizes:
        return 1.0
    support, pmf = np.zeros(1, dtype=int), np.ones(1)  # values of the signed sum, their probabilities
    for size, count in sorted(sizes.items()):
        heads = np.arange(count + 1)
        part = stats.binom.pmf(heads, count, 0.5)  # size * (2 heads - count): the sum of `count` flips
        values = size * (2 * heads - count)
        dense = np.zeros(2 * size * count + 1)
        dense[values + size * count] = part
        pmf = np.clip(signal.convolve(pmf, dense), 0, None)
        support = np.arange(support[0] - size * count, support[0] - size * count + len(pmf))
    observed = abs(sum(totals))
    return float(min(1.0, pmf[np.abs(support) >= observed].sum()))


def _bootstrap(summed: np.ndarray, counted: np.ndarray, resamples: int, seed: int) -> tuple[float, float]:
    """Percentile interval of the mean over runs of each run's accuracy difference, resampling
    examples (columns) with replacement."""
    generator = np.random.default_rng(seed)
    width = summed.shape[1]
    statistics = []
    for start in range(0, resamples, _CHUNK):
        size = min(_CHUNK, resamples - start)
        weights = generator.multinomial(width, np.full(width, 1 / width), size=size).astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            per_run = (weights @ summed.T) / (weights @ counted.T)
        statistics.append(np.nanmean(per_run, axis=1))
    values = np.concatenate(statistics)
    low, high = np.nanpercentile(values, [2.5, 97.5])
    return float(low), float(high)
