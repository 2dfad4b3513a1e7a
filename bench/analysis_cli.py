"""Commands that read finished runs: `check` (regressions vs a baseline), `baseline`, `compare`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.errors import BenchError


def comma_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def add_check_arguments(parser: argparse.ArgumentParser) -> None:
    from bench.regression import Tolerances

    defaults = Tolerances()
    parser.add_argument("out", help="the run's output folder (holding results.jsonl)")
    parser.add_argument("--baseline", required=True,
                        help="a results.csv, or the NAME of baselines/NAME.csv")
    parser.add_argument("--accuracy-points", type=float, default=defaults.accuracy_points,
                        help="allowed score drop in points (default: %(default)s) ...")
    parser.add_argument("--accuracy-sems", type=float, default=defaults.accuracy_sems,
                        help="... or this many baseline standard errors over seeds, whichever is larger")
    parser.add_argument("--throughput", type=float, default=defaults.throughput,
                        help="allowed relative drop in train samples/s, same device only (default: 0.15)")
    parser.add_argument("--memory", type=float, default=defaults.memory,
                        help="allowed relative rise in peak memory (default: 0.15)")


def command_check(args: argparse.Namespace) -> int:
    from bench.baselines import resolve_baseline
    from bench.regression import Tolerances, check_against_baseline, library_differences, read_results_csv
    from bench.results import ResultsStore
    from reports.aggregate import cells_frame

    baseline = read_results_csv(resolve_baseline(args.baseline))
    records = ResultsStore(Path(args.out)).latest()
    if not records:
        raise BenchError(f"no results in {args.out}: run a sweep with --out {args.out} first")
    tolerances = Tolerances(args.accuracy_points, args.accuracy_sems, args.throughput, args.memory)
    current = cells_frame(records)
    differences = library_differences(current, baseline)
    if differences:
        print(f"warning: the run and the baseline used different library versions "
              f"({'; '.join(differences)}): differences may come from them, not from your change",
              file=sys.stderr)
    findings = check_against_baseline(current, baseline, tolerances)
    print(_findings_table(findings))
    regressed = sum(finding.verdict == "regressed" for finding in findings)
    print(f"{regressed} regressed, {sum(f.verdict == 'improved' for f in findings)} improved, "
          f"{sum(f.verdict == 'missing' for f in findings)} missing from the run")
    return 1 if regressed else 0


def _findings_table(findings) -> str:
    from tabulate import tabulate

    def shown(measure: str, value: float | None) -> str:
        if value is None:
            return "-"
        return f"{100 * value:.1f}" if measure == "score" else (
            f"{value / 2**20:.0f} MiB" if measure == "peak memory" else f"{value:.1f}")

    order = {"regressed": 0, "missing": 1, "improved": 2, "new": 3, "ok": 4}
    ordered = sorted(findings, key=lambda f: order[f.verdict])
    rows = [[f.verdict, f.task, f.method, f.model, f.shots, f.measure, shown(f.measure, f.baseline),
             shown(f.measure, f.current), f.allowed] for f in ordered]
    headers = ["verdict", "task", "method", "model", "shots", "measure", "baseline", "run", "allowed"]
    return tabulate(rows, headers=headers, tablefmt="github")


def command_baseline(args: argparse.Namespace) -> int:
    from bench.baselines import store_baseline

    print(f"stored {store_baseline(Path(args.out), args.name)}")
    return 0


def command_compare(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    from bench.results import ResultsStore
    from reports.stats import paired_difference

    names = comma_list(args.methods)
    if len(names) != 2:
        raise BenchError(f"--methods {args.methods!r} must name exactly two methods: A,B")
    records = [r for r in ResultsStore(Path(args.out)).latest() if r.status == "success"]
    rows = []
    for task in dict.fromkeys(r.task for r in records):
        scores = [{r.seed: r.score for r in records if r.task == task and r.method == name} for name in names]
        if all(scores):
            try:
                summary, seeds = paired_difference(scores[0], scores[1])
            except ValueError:
                continue
            rows.append([task, len(seeds), f"{100 * summary.mean:+.2f}",
                         f"[{100 * summary.ci_low:+.2f}, {100 * summary.ci_high:+.2f}]"])
    if not rows:
        raise BenchError(f"{args.out} has no task where {names[0]} and {names[1]} share a seed")
    print(tabulate(rows, headers=["task", "paired seeds", f"{names[0]} - {names[1]} (points)", "95% CI"],
                   tablefmt="github", disable_numparse=True))
    return 0
