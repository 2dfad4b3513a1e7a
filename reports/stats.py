"""Spread over seeds: mean, standard deviation, standard error and a 95% t-interval. Tests on shared
examples are in reports.example_tests; the score gate of `check` in reports.gate."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy import stats


@dataclass(frozen=True)
class Summary:
    n: int
    mean: float
    std: float  # sample standard deviation (n - 1); 0 for a single value
    sem: float
    ci_low: float  # 95% Student-t interval of the mean; equals the mean for a single value
    ci_high: float


def summarize(values: Sequence[float]) -> Summary:
    """Mean and spread of finite values (seeds of one cell group)."""
    finite = [float(value) for value in values if value is not None and math.isfinite(value)]
    if not finite:
        raise ValueError("no finite values to summarise")
    n = len(finite)
    mean = sum(finite) / n
    if n == 1:
        return Summary(1, mean, 0.0, 0.0, mean, mean)
    std = math.sqrt(sum((value - mean) ** 2 for value in finite) / (n - 1))
    sem = std / math.sqrt(n)
    half = float(stats.t.ppf(0.975, df=n - 1)) * sem
    return Summary(n, mean, std, sem, mean - half, mean + half)


def best_within_interval(summaries: dict[str, Summary]) -> set[str]:
    """The best mean, plus every entry whose mean lies inside the best one's 95% interval: a
    best that others tie with is never marked alone."""
    if not summaries:
        return set()
    best = max(summaries, key=lambda name: summaries[name].mean)
    low = summaries[best].ci_low
    return {name for name, summary in summaries.items() if summary.mean >= low}


def paired_difference(first: dict[int, float], second: dict[int, float]) -> tuple[Summary, list[int]]:
    """Summary of first - second over the seeds both have, and those seeds."""
    seeds = sorted(set(first) & set(second))
    if not seeds:
        raise ValueError("the two methods share no seed")
    return summarize([first[seed] - second[seed] for seed in seeds]), seeds
