"""Print the tables of docs/results/check-power.md: the score gate's false alarms and detection rates,
simulated with the seed spreads of real methods (reports.power, which calls reports.gate.judge_score).

    .venv/bin/python scripts/check_power.py                  # the doc's tables (2,000 replicates a cell)
    .venv/bin/python scripts/check_power.py --replicates 200  # a quick look
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reports.power import SPREADS, Design, Scenario, Tails, rates, smallest_detected  # noqa: E402

SEEDS = (1, 3, 5, 10)
DROPS = (1.0, 2.0, 5.0, 10.0)


def table(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    return "\n".join([*lines, *("| " + " | ".join(row) + " |" for row in rows)])


def percent(value: float, digits: int = 0) -> str:
    return f"{100 * value:.{digits}f}"


def spreads_table() -> str:
    rows = [[s.method, f"{s.seed_std:.1f}", " / ".join(f"{d:+.1f}" for d in s.neutral_differences),
             f"{s.paired_std:.2f}", s.source] for s in SPREADS]
    headers = ["method", "seed std (points)", "neutral change per seed (points)", "its std", "source"]
    return table(headers, rows)


def false_alarms(replicates: int) -> str:
    rows = []
    for spread in SPREADS:
        row = [spread.method]
        for design in Design:
            found = [rates(Scenario(spread, design, n), 0.0, replicates=replicates, seed=n) for n in SEEDS]
            row += [percent(rate.regressed, 1) for rate in found]
        rows.append(row)
    heavy = ["any method, heavy tails (max)"]
    for design in Design:
        heavy += [percent(max(rates(Scenario(s, design, n, Tails.HEAVY), 0.0, replicates=replicates,
                                    seed=n).regressed for s in SPREADS), 1) for n in SEEDS]
    rows.append(heavy)
    headers = ["method", *(f"{design.value}, {n} seed{'s' * (n > 1)}" for design in Design for n in SEEDS)]
    return table(headers, rows)


def detection(design: Design, replicates: int) -> str:
    rows = []
    for spread in SPREADS:
        found = [[rates(Scenario(spread, design, n), drop, replicates=replicates, seed=n) for drop in DROPS]
                 for n in SEEDS]
        rows.append([spread.method, *(" / ".join(percent(r.regressed) for r in per_n) for per_n in found)])
    return table(["method", *(f"{n} seed{'s' * (n > 1)}: drops 1 / 2 / 5 / 10" for n in SEEDS)], rows)


def ok_despite_a_drop(replicates: int) -> str:
    """The largest share of `ok` over the methods, per drop: a drop past the floor should not be ok."""
    rows = []
    for design in Design:
        for n in SEEDS[1:]:
            worst = [max(rates(Scenario(s, design, n, tails), drop, replicates=replicates, seed=n).ok
                         for s in SPREADS for tails in Tails) for drop in DROPS]
            rows.append([design.value, str(n), *(percent(value, 1) for value in worst)])
    return table(["design", "seeds", *(f"ok at a drop of {d:g}" for d in DROPS)], rows)


def smallest(replicates: int) -> str:
    def shown(value: float) -> str:
        return "none" if math.isinf(value) else f"{value:.1f}"

    rows = [[s.method, *(shown(smallest_detected(Scenario(s, design, n), replicates=replicates, seed=n))
                         for design in Design for n in (3, 5))] for s in SPREADS]
    return table(["method", *(f"{design.value}, {n} seeds" for design in Design for n in (3, 5))], rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=2000)
    replicates = parser.parse_args().replicates
    sections = [("Spreads", spreads_table()),
                ("False alarms: % of unchanged runs called regressed", false_alarms(replicates)),
                ("Detection, paired: % called regressed per drop (points)",
                 detection(Design.PAIRED, replicates)),
                ("Detection, unpaired: % called regressed per drop (points)",
                 detection(Design.UNPAIRED, replicates)),
                ("Ok despite a drop: the largest % over methods and tails", ok_despite_a_drop(replicates)),
                ("Smallest drop (points) called regressed 9 times in 10", smallest(replicates // 2))]
    print(f"replicates per cell: {replicates} (smallest drop: {replicates // 2}, bisection to 0.05 points)\n")
    for title, text in sections:
        print(f"### {title}\n\n{text}\n")


if __name__ == "__main__":
    main()
