"""The score gate of `check`: one configuration's scores in a run against its scores in a baseline.

A drop is a regression only when it is larger than both the user's points floor and the noise of
what is compared (a one-sided Student-t bound on the mean change): paired by seed and split where
both sides ran the same ones, else the two samples (Welch). A change the data cannot resolve either
way is inconclusive, never ok. docs/results/check-power.md measures the error rates of this rule."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from scipy import special

CONFIDENCE = 0.95  # one-sided: a configuration with no true change is called regressed <= 5% of the time
POWER = 0.90  # the detectable drop is the one called regressed 9 times in 10 at the spread observed
_SLACK = 1e-9  # float noise of score arithmetic: 0.81 - 0.80 is not quite 0.01

RunKey = tuple[str, str]  # (seed, split): one run of a configuration


class Verdict(StrEnum):
    REGRESSED = "regressed"
    FAILED = "failed"  # the run has cells of the configuration without a score (crashed, or NaN)
    MISSING = "missing"  # in the baseline, never run
    INCONCLUSIVE = "inconclusive"  # the data cannot tell a drop beyond the floor from none
    IMPROVED = "improved"
    NEW = "new"  # in the run only
    OK = "ok"


class Pairing(StrEnum):
    PAIRED = "paired"  # per-run differences over the seeds and splits both sides ran
    WELCH = "welch"  # two samples, each with its own spread
    BORROWED = "borrowed"  # two samples, one of them a single run: the other side's spread for both
    NONE = "none"  # a single run on each side: no spread to judge by


@dataclass(frozen=True)
class ScoreJudgement:
    verdict: Verdict
    pairing: Pairing
    keys: tuple[RunKey, ...]  # the pairs compared (paired), else every run of the run's side
    baseline_runs: int
    baseline: float  # mean over what was compared
    current: float
    standard_error: float  # of the mean change; inf when there is no spread to judge by
    allowed: float  # a drop larger than this (a fraction) is a regression: the floor or the noise bound
    detectable: float  # the smallest drop these runs flag 9 times in 10 (inf: none)

    @property
    def change(self) -> float:
        return self.current - self.baseline


def judge_score(run: Mapping[RunKey, float], baseline: Mapping[RunKey, float], *,
                floor: float) -> ScoreJudgement:
    """Verdict on run - baseline for one configuration; scores are fractions, floor a fraction too.
    Paired when every run of the run's side is one of the baseline's and there are at least two (or
    one, reproduced exactly)."""
    if not run or not baseline:
        raise ValueError("both sides need at least one score")
    shared = tuple(sorted(set(run) & set(baseline)))
    reproduced = len(shared) == 1 and run[shared[0]] == baseline[shared[0]]
    # paired only when every run of the run's side re-runs one of the baseline's: runs it adds would
    # otherwise go unjudged (then the two whole samples are compared)
    if (len(shared) >= 2 or reproduced) and set(run) <= set(baseline):
        differences = [run[key] - baseline[key] for key in shared]
        base, now = _mean([baseline[key] for key in shared]), _mean([run[key] for key in shared])
        error, df = _paired_error(differences)
        pairing, keys = Pairing.PAIRED, shared
    else:
        base, now = _mean(list(baseline.values())), _mean(list(run.values()))
        error, df, pairing = _unpaired_error(list(run.values()), list(baseline.values()))
        keys = tuple(sorted(run))
    verdict, allowed, detectable = _decide(now - base, error, df, floor)
    return ScoreJudgement(verdict, pairing, keys, len(baseline), base, now, error, allowed, detectable)


def _decide(change: float, error: float, df: float, floor: float) -> tuple[Verdict, float, float]:
    """(verdict, allowed drop, detectable drop) for a mean change with its standard error: regressed
    below -max(floor, t x error), improved above +max(...), ok when the one-sided bound of the change
    stays above -floor, else inconclusive."""
    if not math.isfinite(error):
        return Verdict.INCONCLUSIVE, math.inf, math.inf
    margin = _t(CONFIDENCE, df) * error
    allowed = max(floor, margin)
    detectable = allowed + _t(POWER, df) * error
    if change < -allowed - _SLACK:
        return Verdict.REGRESSED, allowed, detectable
    if change > allowed + _SLACK:
        return Verdict.IMPROVED, allowed, detectable
    if change - margin >= -floor - _SLACK:
        return Verdict.OK, allowed, detectable
    return Verdict.INCONCLUSIVE, allowed, detectable


def judge_change(change: float, allowed: float) -> Verdict:
    """Regressed below -allowed, improved above +allowed, else ok (relative speed and memory figures,
    and the paper check, where there is no spread of the run to weigh)."""
    if change < -allowed:
        return Verdict.REGRESSED
    return Verdict.IMPROVED if change > allowed else Verdict.OK


def _paired_error(differences: Sequence[float]) -> tuple[float, float]:
    n = len(differences)
    if n == 1:  # one pair, reproduced to the last bit: no change to weigh
        return 0.0, math.inf
    return math.sqrt(_variance(differences) / n), n - 1


def _unpaired_error(run: Sequence[float], baseline: Sequence[float]) -> tuple[float, float, Pairing]:
    spreads = [(len(side), _variance(side)) for side in (run, baseline) if len(side) > 1]
    if len(spreads) == 2:
        parts = [variance / n for n, variance in spreads]
        total = sum(parts)
        if total == 0:
            return 0.0, math.inf, Pairing.WELCH
        df = total**2 / sum(part**2 / (n - 1) for part, (n, _) in zip(parts, spreads, strict=True))
        return math.sqrt(total), df, Pairing.WELCH
    if not spreads:
        return math.inf, 0.0, Pairing.NONE
    n, variance = spreads[0]
    return math.sqrt(variance * (1 / len(run) + 1 / len(baseline))), n - 1, Pairing.BORROWED


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


def _variance(values: Sequence[float]) -> float:
    mean = _mean(values)
    return sum((value - mean) ** 2 for value in values) / (len(values) - 1)


def _t(level: float, df: float) -> float:
    """Student t quantile (scipy's stdtrit: stats.t.ppf's values at a fraction of its cost, which the
    simulations of check-power.md call hundreds of thousands of times)."""
    return float(special.stdtrit(df, level))
