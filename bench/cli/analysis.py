"""Commands that read finished runs: `check` (regressions against a baseline), `baseline` and
`compare`. They match cells on their configuration (config_id), not on method names alone."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import pandas as pd

from bench.core.errors import BenchError
from bench.core.records import CellStatus
from bench.core.samples import SAMPLES_DIR

BASELINES_HELP = ("folder of the stored baselines (default: $PETBENCH_BASELINES, else ./baselines in the "
                  "current folder)")

def add_analysis_commands(commands) -> None:
    from reports.regression import Tolerances

    defaults = Tolerances()
    check = commands.add_parser(
        "check", help="compare a run with a stored baseline; exit 1 on any regression",
        description="Compares each configuration present in both. Gated: the score (always), train "
                    "samples/s on a GPU, peak memory (CPU: the RSS growth of the cell's own process, stable "
                    "between runs). CPU train samples/s is reported but not gated unless --cpu-throughput is "
                    "given: on shared cores it moves with whatever else runs (docs/results/check-noise.md).")
    check.add_argument("out", help="the run's output folder (holding results.jsonl)")
    against = check.add_mutually_exclusive_group(required=True)
    against.add_argument("--baseline",
                         help="a results.csv, or the NAME of a stored baseline (NAME.csv in the baselines "
                              "folder)")
    against.add_argument("--against-paper", action="store_true",
                         help="compare each configuration's mean score with the published results for its "
                              "task and method (reports/references/*.yaml and --references); exit 1 when "
                              "it is below one by more than the tolerance")
    check.add_argument("--references", action="append", default=[], metavar="FILE",
                       help="a file of published results to compare with (repeatable; with --against-paper)")
    check.add_argument("--baselines-dir", default=None, help=BASELINES_HELP)
    check.add_argument("--accuracy-points", type=float, default=defaults.accuracy_points,
                       help="allowed score drop in points (default: %(default)s) ...")
    check.add_argument("--accuracy-sems", type=float, default=defaults.accuracy_sems,
                       help="... or this many baseline standard errors over seeds, whichever is larger "
                            "(default: %(default)s)")
    check.add_argument("--throughput", type=float, default=defaults.throughput,
                       help="allowed relative drop in train samples/s on a GPU, same device only "
                            "(default: %(default)s)")
    check.add_argument("--cpu-throughput", type=float, default=defaults.cpu_throughput,
                       help="allowed relative drop in train samples/s on a CPU (default: not gated)")
    check.add_argument("--memory", type=float, default=defaults.memory,
                       help="allowed relative rise in peak memory (default: %(default)s)")
    baseline = commands.add_parser("baseline", help="store a run's cells as NAME.csv in the baselines folder")
    baseline.add_argument("out", help="the run's output folder")
    baseline.add_argument("--name", required=True)
    baseline.add_argument("--baselines-dir", default=None, help=BASELINES_HELP)
    compare = commands.add_parser("compare",
                                  help="paired difference of two methods over shared seeds and splits, "
                                       "and an exact McNemar test on shared examples where both ran "
                                       "with --log-samples")
    compare.add_argument("out", help="the run's output folder")
    versus = compare.add_mutually_exclusive_group(required=True)
    versus.add_argument("--methods",
                        help="two methods (or configuration labels as in report.md): A,B (reports A - B)")
    versus.add_argument("--against-paper", action="store_true",
                        help="each configuration's mean (95%% CI) beside the published results for its task "
                             "and method: how far from the paper")
    compare.add_argument("--references", action="append", default=[], metavar="FILE",
                         help="a file of published results (repeatable; with --against-paper)")


def _records_frame(out: str) -> pd.DataFrame:
    from bench.core.store import ResultsStore
    from reports.aggregate import cells_frame

    records = ResultsStore(Path(out)).latest()
    if not records:
        raise BenchError(f"no results in {out}: run a sweep with --out {out} first")
    return cells_frame(records)


def command_check(args: argparse.Namespace) -> int:
    from reports.baselines import baselines_dir, resolve_baseline
    from reports.regression import (
        Tolerances,
        Verdict,
        check_against_baseline,
        environment_differences,
        read_results_csv,
    )

    for name in ("accuracy_points", "accuracy_sems", "throughput", "memory", "cpu_throughput"):
        value = getattr(args, name)
        if value is not None and not (math.isfinite(value) and value >= 0):  # NaN would pass every drop
            raise BenchError(f"--{name.replace('_', '-')} must be a finite number, 0 or more")
    tolerances = Tolerances(args.accuracy_points, args.accuracy_sems, args.throughput, args.cpu_throughput,
                            args.memory)
    if args.against_paper:
        return _check_against_paper(args, tolerances)
    if args.references:
        raise BenchError("--references goes with --against-paper: a stored baseline is compared on its own")
    baseline = read_results_csv(resolve_baseline(args.baseline, baselines_dir(args.baselines_dir)))
    if not (baseline["status"] == CellStatus.SUCCESS).any():
        raise BenchError(f"baseline {args.baseline} has no successful cells, so it can gate nothing: "
                         f"store a baseline from a run whose cells succeeded")
    current = _records_frame(args.out)
    differences = environment_differences(current, baseline)
    if differences:
        print(f"warning: the run and the baseline used different library versions or precision "
              f"({'; '.join(differences)}): differences may come from them, not from your change",
              file=sys.stderr)
    findings = check_against_baseline(current, baseline, tolerances)
    if all(finding.verdict in (Verdict.MISSING, Verdict.NEW) for finding in findings):
        raise BenchError(f"the run in {args.out} and baseline {args.baseline} have no configuration in "
                         f"common (task, method, knobs, model, shots, precision), so nothing was compared: "
                         f"run the baseline's configurations, or check against another baseline")
    print(_findings_table(findings))
    stalled = current[current["never_beat_start"].astype(bool) & (current["status"] == CellStatus.SUCCESS)]
    if not stalled.empty:
        cells = ", ".join(stalled["cell_id"].head(5)) + (", ..." if len(stalled) > 5 else "")
        print(f"flagged: {len(stalled)} cell(s) of the run never scored above their untrained start on dev "
              f"(learning rate too small or too large?): {cells}")
    counts = {verdict: sum(f.verdict == verdict for f in findings) for verdict in Verdict}
    print(f"{counts[Verdict.REGRESSED]} regressed, {counts[Verdict.IMPROVED]} improved, "
          f"{counts[Verdict.MISSING]} missing from the run")
    return 1 if counts[Verdict.REGRESSED] else 0


def _paper_gaps(args: argparse.Namespace, tolerances=None):
    from reports.paper_gap import paper_gaps
    from reports.references import load_references

    references = load_references([Path(path).expanduser() for path in args.references])
    gaps = paper_gaps(_records_frame(args.out), references, tolerances)
    if not gaps:
        raise BenchError(f"no configuration in {args.out} has a published result for its task and method, so "
                         f"nothing was compared: run a task and method of `reports/references/*.yaml` (e.g. "
                         f"--protocol fewclue), or pass --references FILE with your paper's numbers")
    return gaps


def _gap_table(gaps) -> str:
    from tabulate import tabulate

    from reports.paper_gap import GAP_HEADERS, gap_rows

    return tabulate(gap_rows(gaps), headers=GAP_HEADERS, tablefmt="github", disable_numparse=True)


def _check_against_paper(args: argparse.Namespace, tolerances) -> int:
    from reports.regression import Verdict

    gaps = _paper_gaps(args, tolerances)
    print(_gap_table(gaps))
    below = sum(gap.verdict == Verdict.REGRESSED for gap in gaps)
    other_model = sum(not gap.same_model for gap in gaps)
    print(f"{below} below the paper, {sum(gap.verdict == Verdict.IMPROVED for gap in gaps)} above it, "
          f"{len(gaps)} compared" + (f" ({other_model} with a different model than the paper's)"
                                     if other_model else ""))
    return 1 if below else 0


def _findings_table(findings) -> str:
    from tabulate import tabulate

    from reports.regression import Verdict

    def shown(measure: str, value: float | None) -> str:
        if value is None:
            return "-"
        if measure == "score":
            return f"{100 * value:.1f}"
        return f"{value / 2**20:.0f} MiB" if measure == "peak memory" else f"{value:.1f}"

    order = list(Verdict)
    ordered = sorted(findings, key=lambda finding: order.index(finding.verdict))
    rows = [[f.verdict.value, f.task, f.method, f.model, f.shots, f.measure, shown(f.measure, f.baseline),
             shown(f.measure, f.current), f.allowed, f.comparison or "-"] for f in ordered]
    headers = ["verdict", "task", "method", "model", "shots", "measure", "baseline", "run", "allowed",
               "comparison"]
    return tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)


def command_baseline(args: argparse.Namespace) -> int:
    from reports.baselines import baselines_dir, store_baseline

    print(f"stored {store_baseline(Path(args.out), args.name, baselines_dir(args.baselines_dir))}")
    return 0


def command_compare(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    from reports.compare import paired_rows

    if args.against_paper:
        print(_gap_table(_paper_gaps(args)))
        return 0
    if args.references:
        raise BenchError("--references goes with --against-paper")
    names = [item.strip() for item in args.methods.split(",") if item.strip()]
    if len(names) != 2 or names[0] == names[1]:
        raise BenchError(f"--methods {args.methods!r} must name exactly two different methods: A,B")
    rows = paired_rows(_records_frame(args.out), names[0], names[1], samples_dir=Path(args.out) / SAMPLES_DIR)
    if not rows:
        raise BenchError(f"{args.out} has no task where {names[0]} and {names[1]} share a seed")
    headers = ["task", "model", "shots", "paired runs", f"{names[0]} - {names[1]} (points)", "95% CI",
               f"shared examples (only {names[0]} / only {names[1]} right)", "McNemar exact p"]
    print(tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True))
    print("95% CI: Student-t over the paired seeds and splits. McNemar exact p: a two-sided binomial test on "
          "the examples only one of the two got right, pooled over the shared seeds and splits whose cells "
          "logged samples" + ("" if any(row[-1] != "-" for row in rows) else
                              " (none here: run both with --log-samples)"))
    return 0
