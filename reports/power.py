"""Error rates of `check`'s score gate, measured by simulation: many baseline/run pairs drawn with the
seed spreads of real methods, with no change and with planted drops, each judged by the gate's own
decision function (reports.gate.judge_score). scripts/check_power.py prints docs/results/check-power.md's
tables from it."""

from __future__ import annotations

import math
import statistics
from collections import Counter
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from reports.gate import Verdict, judge_score

_MEAN = 0.70  # the level of the scores; the gate only sees differences


@dataclass(frozen=True)
class Spread:
    """A real method's noise, in points: its std over seeds, and the per-seed differences of a change
    that should not matter (bf16 against fp32, same seeds and samples)."""

    method: str
    seed_std: float
    neutral_differences: tuple[float, ...]
    source: str

    @property
    def paired_std(self) -> float:
        return statistics.stdev(self.neutral_differences)


_BF16 = "cpu-bf16.md (fp32 std over seeds; bf16 - fp32 per seed)"
SPREADS = (
    Spread("full_ft", 0.4, (0.0, 0.0, 0.1), _BF16),
    Spread("hard_prompt", 1.7, (-1.9, -0.2, 0.2), _BF16),
    Spread("linear_probe", 1.6, (0.1, 0.1, 0.0), _BF16),
    Spread("lora", 1.3, (0.0, -0.1, 2.6), _BF16),
    Spread("lpt", 3.2, (0.0, -0.2, 0.2), _BF16),
    Spread("mask_pool", 3.3, (-1.5, -8.1, 2.3, 0.0, -0.3), _BF16),
    Spread("p_tuning", 2.1, (0.3, -0.6, -0.8), _BF16),
    Spread("p_tuning_v2", 3.1, (1.5, 0.0, -0.1), _BF16),
    Spread("prefix_tuning", 3.5, (-4.4, 0.0, 3.6), _BF16),
    Spread("prompt_tuning", 1.5, (-1.8, -0.1, 1.1), _BF16),
    Spread("setfit", 1.8, (-0.9, -3.3, -4.5, -3.8, -3.7), _BF16 + "; its mean -3.2 was a real drop, only the "
           "spread is used"),
)


class Design(StrEnum):
    PAIRED = "paired"  # the run repeats the baseline's seeds: per-seed differences with the neutral spread
    UNPAIRED = "unpaired"  # other seeds: two samples with the seed spread


class Tails(StrEnum):
    NORMAL = "normal"
    HEAVY = "heavy"  # Student t with 3 degrees of freedom, scaled to the same std (a seed that collapses)


@dataclass(frozen=True)
class Scenario:
    spread: Spread
    design: Design
    seeds: int  # per side
    tails: Tails = Tails.NORMAL
    floor_points: float = 1.0


@dataclass(frozen=True)
class Rates:
    """Fractions of the replicates per verdict."""

    regressed: float
    ok: float
    inconclusive: float
    improved: float


def rates(scenario: Scenario, drop_points: float, *, replicates: int, seed: int = 0) -> Rates:
    """How often the gate says each verdict when the run is `drop_points` below the baseline."""
    noise = _Noise.draw(scenario, replicates, seed)
    counts = Counter(noise.verdict(index, drop_points) for index in range(replicates))
    return Rates(*(counts[verdict] / replicates for verdict in
                   (Verdict.REGRESSED, Verdict.OK, Verdict.INCONCLUSIVE, Verdict.IMPROVED)))


def smallest_detected(scenario: Scenario, *, power: float = 0.9, replicates: int, seed: int = 0,
                      largest_points: float = 40.0, precision_points: float = 0.05) -> float:
    """The smallest drop (points) the gate calls regressed in at least `power` of the replicates; inf
    when even `largest_points` is not. The same draws at every drop, so the rate rises with the drop."""
    noise = _Noise.draw(scenario, replicates, seed)

    def detected(drop: float) -> bool:
        found = sum(noise.verdict(index, drop) == Verdict.REGRESSED for index in range(replicates))
        return found >= power * replicates

    if not detected(largest_points):
        return math.inf
    low, high = 0.0, largest_points
    while high - low > precision_points:
        middle = (low + high) / 2
        low, high = (low, middle) if detected(middle) else (middle, high)
    return high


@dataclass(frozen=True)
class _Noise:
    scenario: Scenario
    baseline: np.ndarray  # replicates x seeds, points
    run: np.ndarray  # replicates x seeds: the run's noise (paired: the per-seed differences)

    @classmethod
    def draw(cls, scenario: Scenario, replicates: int, seed: int) -> _Noise:
        generator = np.random.default_rng(seed)
        shape = (replicates, scenario.seeds)
        spread = scenario.spread
        second = spread.paired_std if scenario.design == Design.PAIRED else spread.seed_std
        return cls(scenario, spread.seed_std * _unit(generator, shape, scenario.tails),
                   second * _unit(generator, shape, scenario.tails))

    def verdict(self, index: int, drop_points: float) -> Verdict:
        seeds = self.scenario.seeds
        base = _MEAN + self.baseline[index] / 100
        if self.scenario.design == Design.PAIRED:
            keys = [(str(seed), "-") for seed in range(seeds)]
            now = base + (self.run[index] - drop_points) / 100
            run_keys = keys
        else:
            keys = [(str(seed), "-") for seed in range(seeds)]
            run_keys = [(str(seeds + seed), "-") for seed in range(seeds)]
            now = _MEAN + (self.run[index] - drop_points) / 100
        judged = judge_score(dict(zip(run_keys, now.tolist(), strict=True)),
                             dict(zip(keys, base.tolist(), strict=True)),
                             floor=self.scenario.floor_points / 100)
        return judged.verdict


def _unit(generator: np.random.Generator, shape: tuple[int, int], tails: Tails) -> np.ndarray:
    if tails == Tails.NORMAL:
        return generator.standard_normal(shape)
    return generator.standard_t(3, shape) / math.sqrt(3)  # t(3) has variance 3
