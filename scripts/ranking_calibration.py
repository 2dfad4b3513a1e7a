"""Error rates of the tier rule of reports.ranking, measured by simulation, and the coverage of its
95% intervals: prints a Markdown table (and writes it to --out).

A simulated table has two methods, `seeds` runs each and one eval set of `examples` examples shared by
every run. A run's accuracy on the population of examples is the method's accuracy plus a seed effect
shared by both methods (the seed draws the few-shot training sample) plus one of the method's own (its
training noise), in points; each example has a difficulty shared by every method and seed, so the same
examples tend to be missed together. An example is right with probability Phi(c - LOAD * difficulty),
with c set so that the run's accuracy over the population of examples is the run's accuracy.

Rows: identical methods (a split is a false split: the two get different letters), a planted gap
(a split is a detection), each judged on per-example predictions (two-level bootstrap) and on seed
scores only (paired t), and the share of intervals covering the method's true accuracy.

    .venv/bin/python scripts/ranking_calibration.py --datasets 500 --out /tmp/ranking_calibration.md
"""

from __future__ import annotations

import argparse
import time
from dataclasses import astuple, dataclass
from pathlib import Path

import numpy as np
from scipy import stats

from reports.ranking import MethodRuns, RunPredictions, TableRanking, rank_methods

LOAD = 1.5  # how strongly an example's difficulty is shared by every model (0: examples independent)
BASE_ACCURACY = 75.0  # points


@dataclass(frozen=True)
class Scenario:
    gap_points: float  # the second method's accuracy is this much lower
    seeds: int
    examples: int
    own_seed_std: float  # points: each method's own training noise per seed
    shared_seed_std: float = 1.5  # points: the seed's effect on both methods (the training sample)


def simulate_table(scenario: Scenario, generator: np.random.Generator) -> list[tuple[MethodRuns, float]]:
    """Two methods with their true accuracies (fractions)."""
    difficulty = generator.standard_normal(scenario.examples)
    golds = generator.integers(2, size=scenario.examples)
    keys = tuple(f"e{index}" for index in range(scenario.examples))
    shared = generator.normal(0, scenario.shared_seed_std, scenario.seeds)
    methods = []
    for index, truth in enumerate((BASE_ACCURACY, BASE_ACCURACY - scenario.gap_points)):
        scores, predictions = {}, {}
        for seed in range(scenario.seeds):
            accuracy = np.clip(truth + shared[seed] + generator.normal(0, scenario.own_seed_std), 1, 99) / 100
            offset = stats.norm.ppf(accuracy) * np.sqrt(1 + LOAD**2)
            right = generator.random(scenario.examples) < stats.norm.cdf(offset - LOAD * difficulty)
            predicted = np.where(right, golds, 1 - golds)
            key = (str(seed), "-")
            scores[key] = float(right.mean())
            predictions[key] = RunPredictions(keys, tuple(golds.tolist()), tuple(predicted.tolist()))
        methods.append((MethodRuns(f"m{index}", scores, predictions), truth / 100))
    return methods


def judged(methods: list[MethodRuns], *, examples: bool, seed: int) -> TableRanking:
    chosen = methods if examples else [MethodRuns(method.name, method.scores) for method in methods]
    return rank_methods(chosen, metric="accuracy", seed=seed)


def rates(scenario: Scenario, datasets: int, *, examples: bool, seed: int) -> tuple[float, float]:
    """(share of datasets whose two methods get different letters, share of intervals covering truth)."""
    generator = np.random.default_rng(seed)
    splits, covered = 0, 0
    for index in range(datasets):
        table = simulate_table(scenario, generator)
        ranking = judged([method for method, _ in table], examples=examples, seed=index)
        splits += ranking.letters["m0"] != ranking.letters["m1"]
        truth = {method.name: accuracy for method, accuracy in table}
        covered += sum(low <= truth[name] <= high for name, _, low, high, _ in
                       (astuple(interval) for interval in ranking.intervals))
    return splits / datasets, covered / (2 * datasets)


SCENARIOS = (
    ("identical", Scenario(0.0, 5, 200, 0.0)),
    ("identical", Scenario(0.0, 5, 200, 1.5)),
    ("identical", Scenario(0.0, 5, 200, 3.0)),
    ("identical", Scenario(0.0, 3, 200, 1.5)),
    ("identical", Scenario(0.0, 1, 200, 1.5)),
    ("10-point gap", Scenario(10.0, 5, 200, 1.5)),
    ("10-point gap", Scenario(10.0, 5, 200, 3.0)),
    ("10-point gap", Scenario(10.0, 1, 200, 1.5)),
    ("3-point gap", Scenario(3.0, 5, 872, 1.5)),
)


def table(datasets: int) -> str:
    """The Markdown table, each row printed as soon as it is measured."""
    lines = [f"Two methods per simulated table, {datasets} tables per row; seed std in points (the method's "
             f"own, and {Scenario(0, 1, 1, 0).shared_seed_std} shared by both methods of a seed); "
             f"difficulty load {LOAD}. `split`: the two got different letters (a false split for identical "
             f"methods, a detection for a gap). `coverage`: 95% intervals holding the true accuracy.", "",
             "| methods | seeds | examples | own seed std | split, examples | split, seed scores | "
             "coverage, examples | coverage, seed scores |", "|---|---|---|---|---|---|---|---|"]
    print("\n".join(lines), flush=True)
    for name, scenario in SCENARIOS:
        on_examples = rates(scenario, datasets, examples=True, seed=1)
        on_seeds = rates(scenario, datasets, examples=False, seed=1)
        lines.append(f"| {name} | {scenario.seeds} | {scenario.examples} | {scenario.own_seed_std} | "
                     f"{on_examples[0]:.1%} | {on_seeds[0]:.1%} | {on_examples[1]:.1%} | {on_seeds[1]:.1%} |")
        print(lines[-1], flush=True)
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=500)
    parser.add_argument("--out", type=Path, default=Path("/tmp/ranking_calibration.md"))
    options = parser.parse_args()
    started = time.perf_counter()
    text = table(options.datasets)
    text += f"\n{time.perf_counter() - started:.0f} s, `python scripts/ranking_calibration.py " \
            f"--datasets {options.datasets}`.\n"
    options.out.write_text(text, encoding="utf-8")
    print(text.splitlines()[-1])


if __name__ == "__main__":
    main()
