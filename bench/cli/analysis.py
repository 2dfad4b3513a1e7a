"""Commands that read finished runs: `check` (regressions against a baseline), `baseline` and
`compare`. They match cells on their configuration (config_id), not on method names alone."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bench.core.errors import BenchError
from bench.core.records import CellStatus
from bench.core.samples import SAMPLES_DIR

if TYPE_CHECKING:
    import pandas as pd

BASELINES_HELP = ("folder of the stored baselines (default: $PETBENCH_BASELINES, else ./baselines in the "
                  "current folder)")

def add_commands(commands) -> None:
    from reports.tolerances import Tolerances

    defaults = Tolerances()
    check = commands.add_parser(
        "check", help="compare a run with a stored baseline; exit 1 on a regression, a failed or a missing "
                      "configuration, 3 when a change is inconclusive",
        description="Compares each configuration (config_id: task and its definition, method, knobs, loop "
                    "settings, model and its fingerprint, shots, device kind, precision; not the code) "
                    "present in both. The score: paired over the seeds and splits both ran, else the two "
                    "samples (Welch); regressed when the drop exceeds both --accuracy-points and a one-sided "
                    "95% t-bound of the change, ok only when the data bound any drop within "
                    "--accuracy-points, else inconclusive (docs/results/check-power.md). Gated too: train "
                    "samples/s on a GPU, peak memory (CPU: the RSS growth of the cell's own process). CPU "
                    "train samples/s is reported but not gated unless --cpu-throughput is given "
                    "(docs/results/check-noise.md).",
        epilog="exit codes: 0 every compared figure ok or improved; 1 a regression, a failed cell (crashed "
               "or NaN score), or a baseline configuration missing from the run (unless --allow-missing); 2 "
               "bad input; 3 otherwise, when some score change is inconclusive (unless --allow-inconclusive)")
    check.add_argument("out", help="the run's output folder (holding results.jsonl)")
    against = check.add_mutually_exclusive_group(required=True)
    against.add_argument("--baseline",
                         help="a results.csv, or the NAME of a stored baseline (NAME.csv in the baselines "
                              "folder)")
    against.add_argument("--against-paper", action="store_true",
                         help="compare each configuration's mean score (a --search: its dev-selected cells) "
                              "with the published results for its task, method and shots "
                              "(reports/references/*.yaml and --references); exit 1 when it is below one by "
                              "more than the tolerance")
    check.add_argument("--references", action="append", default=[], metavar="FILE",
                       help="a file of published results to compare with (repeatable; with --against-paper)")
    check.add_argument("--baselines-dir", default=None, help=BASELINES_HELP)
    check.add_argument("--accuracy-points", type=float, default=defaults.accuracy_points,
                       help="the floor: a score drop of at most this many points is never a regression "
                            "(default: %(default)s)")
    check.add_argument("--accuracy-sems", type=float, default=defaults.accuracy_sems,
                       help="with --against-paper: or this many standard errors of the run's mean, taking "
                            "the paper's std as one run's, whichever is larger (default: %(default)s)")
    check.add_argument("--allow-missing", action="store_true",
                       help="a baseline configuration the run did not attempt (a re-run of a subset) is "
                            "listed but does not fail the check; failed cells still do")
    check.add_argument("--allow-inconclusive", action="store_true",
                       help="exit 0 instead of 3 when a change is inconclusive (still printed)")
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
                                       "and an exact test and bootstrap interval on shared examples "
                                       "(each counted once over the seeds) where both ran with "
                                       "--log-samples")
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
    from reports.gate import Verdict
    from reports.regression import Tolerances, check_against_baseline, read_results_csv

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
    _warn_about_inputs(current, baseline)
    findings = check_against_baseline(current, baseline, tolerances)
    if all(finding.verdict in (Verdict.MISSING, Verdict.NEW) for finding in findings):
        raise BenchError(f"the run in {args.out} and baseline {args.baseline} have no configuration in "
                         f"common (task, method, knobs, model, shots, precision), so nothing was compared: "
                         f"run the baseline's configurations, or check against another baseline")
    print(_findings_table(findings))
    for line in [*_inconclusive_lines(findings), *_stalled_lines(current)]:
        print(line)
    return _check_outcome(findings, args)


def _warn_about_inputs(current: pd.DataFrame, baseline: pd.DataFrame) -> None:
    """On stderr: library versions that differ, runs stored twice (which record counts), unscored rows."""
    from reports.regression import environment_differences
    from reports.runs import one_per_run, scores

    differences = "; ".join(environment_differences(current, baseline))
    if differences:
        print(f"warning: the run and the baseline used different library versions ({differences}): "
              f"differences may come from them, not from your change", file=sys.stderr)
    unscored = int(scores(baseline).isna().sum())
    notes = [*one_per_run(baseline, "the baseline").notes, *one_per_run(current).notes]
    if unscored:
        notes.append(f"the baseline has {unscored} successful cell(s) without a score: set aside")
    for note in notes:
        print(f"note: {note}", file=sys.stderr)


def _check_outcome(findings, args: argparse.Namespace) -> int:
    """Print the counts and what they mean; the exit code (see `check --help`)."""
    from reports.gate import Verdict

    counts = {verdict: sum(f.verdict == verdict for f in findings) for verdict in Verdict}
    print(f"{counts[Verdict.REGRESSED]} regressed, {counts[Verdict.FAILED]} failed, "
          f"{counts[Verdict.IMPROVED]} improved, {counts[Verdict.INCONCLUSIVE]} inconclusive, "
          f"{counts[Verdict.MISSING]} missing from the run")
    missing = counts[Verdict.MISSING] and not args.allow_missing
    if counts[Verdict.REGRESSED] or counts[Verdict.FAILED] or missing:
        if missing:
            print("a configuration of the baseline is missing from the run: run it, or pass --allow-missing "
                  "when the run re-runs a subset on purpose")
        return 1
    if counts[Verdict.INCONCLUSIVE] and not args.allow_inconclusive:
        print("exit 3: nothing regressed, but some change is inconclusive (not ok): run more seeds, the "
              "baseline's own, or pass --allow-inconclusive")
        return 3
    return 0


def _inconclusive_lines(findings) -> list[str]:
    """One line per inconclusive score: the change seen and the smallest drop these runs can flag."""
    from reports.gate import Verdict

    lines = []
    for f in findings:
        if f.verdict != Verdict.INCONCLUSIVE or f.measure != "score":
            continue
        where = f"inconclusive: {f.method} on {f.task} ({f.model}, shots {f.shots})"
        if f.current is None or f.baseline is None:  # nothing on one side to weigh
            lines.append(f"{where}: {f.comparison}")
            continue
        change = f"run - baseline {100 * (f.current - f.baseline):+.2f} points"
        reach = ("one run on each side has no spread: no drop can be told from noise; run 2 or more of the "
                 "baseline's seeds" if not math.isfinite(f.detectable) else
                 f"these runs detect (9 times in 10) only drops of {100 * f.detectable:.2f} points or more")
        lines.append(f"{where}: {change}; {reach} ({f.comparison})")
    return lines


def _stalled_lines(current: pd.DataFrame) -> list[str]:
    stalled = current[current["never_beat_start"].astype(bool) & (current["status"] == CellStatus.SUCCESS)]
    if stalled.empty:
        return []
    cells = ", ".join(stalled["cell_id"].head(5)) + (", ..." if len(stalled) > 5 else "")
    return [f"flagged: {len(stalled)} cell(s) of the run never scored above their untrained start on dev "
            f"(learning rate too small or too large?): {cells}"]


def _paper_comparison(args: argparse.Namespace, tolerances=None):
    from reports.paper_gap import compare_with_papers
    from reports.references import load_references

    references = load_references([Path(path).expanduser() for path in args.references])
    compared = compare_with_papers(_records_frame(args.out), references, tolerances)
    for line in compared.set_aside:
        print(f"warning: {line}", file=sys.stderr)
    if not compared.gaps and not compared.failed:
        other = " (some did, at other shots: see the warnings)" if compared.set_aside else ""
        raise BenchError(f"no configuration in {args.out} has a published result for its task, method and "
                         f"shots{other}, so nothing was compared: run a task and method of "
                         f"`reports/references/*.yaml` (e.g. --protocol fewclue), or pass --references FILE "
                         f"with your paper's numbers")
    return compared


def _gap_table(gaps) -> str:
    from tabulate import tabulate

    from reports.paper_gap import GAP_HEADERS, gap_rows

    return tabulate(gap_rows(gaps), headers=GAP_HEADERS, tablefmt="github", disable_numparse=True)


def _check_against_paper(args: argparse.Namespace, tolerances) -> int:
    from reports.gate import Verdict

    compared = _paper_comparison(args, tolerances)
    gaps = compared.gaps
    if gaps:
        print(_gap_table(gaps))
    for line in compared.failed:
        print(f"failed: {line}")
    flagged = sum(bool(gap.flags) for gap in gaps)
    if flagged:
        print(f"flagged: {flagged} comparison(s) are doubtful (the flags column): a score at the majority "
              f"class, a cell that never beat its start or an --eval-limit sample says little of the method")
    below = sum(gap.verdict == Verdict.REGRESSED for gap in gaps)
    other_model = sum(not gap.same_model for gap in gaps)
    print(f"{below} below the paper, {sum(gap.verdict == Verdict.IMPROVED for gap in gaps)} above it, "
          f"{len(gaps)} compared" + (f" ({other_model} with a different model than the paper's)"
                                     if other_model else "")
          + (f", {len(compared.failed)} failed" if compared.failed else ""))
    return 1 if below or compared.failed else 0


def _findings_table(findings) -> str:
    from tabulate import tabulate

    from reports.regression import Verdict

    def shown(measure: str, value: float | None) -> str:
        if value is None:
            return "-"
        if measure == "score":
            return f"{100 * value:.1f}"
        return f"{value / 2**20:.0f} MiB" if measure == "peak memory" else f"{value:.1f}"

    def detects(value: float | None) -> str:
        if value is None:
            return "-"
        return f"-{100 * value:.2f} points" if math.isfinite(value) else "none (no spread)"

    order = list(Verdict)
    ordered = sorted(findings, key=lambda finding: order.index(finding.verdict))
    rows = [[f.verdict.value, f.task, f.method, f.model, f.shots, f.measure, shown(f.measure, f.baseline),
             shown(f.measure, f.current), f.allowed, detects(f.detectable), f.comparison or "-"]
            for f in ordered]
    headers = ["verdict", "task", "method", "model", "shots", "measure", "baseline", "run", "allowed",
               "detects (9 in 10)", "comparison"]
    return tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)


def command_baseline(args: argparse.Namespace) -> int:
    from reports.baselines import baselines_dir, store_baseline

    print(f"stored {store_baseline(Path(args.out), args.name, baselines_dir(args.baselines_dir))}")
    return 0


def command_compare(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    from reports.compare import paired_rows

    if args.against_paper:
        print(_gap_table(_paper_comparison(args).gaps))
        return 0
    if args.references:
        raise BenchError("--references goes with --against-paper")
    names = [item.strip() for item in args.methods.split(",") if item.strip()]
    if len(names) != 2 or names[0] == names[1]:
        raise BenchError(f"--methods {args.methods!r} must name exactly two different methods: A,B")
    samples = Path(args.out) / SAMPLES_DIR
    rows = paired_rows(_records_frame(args.out), names[0], names[1], samples_dir=samples)
    if not rows:
        raise BenchError(f"{args.out} has no task where {names[0]} and {names[1]} share a seed")
    headers = ["task", "model", "shots", "paired runs", f"{names[0]} - {names[1]} (points)", "95% CI (seeds)",
               f"shared examples (only {names[0]} / only {names[1]} right)", "95% CI (examples)",
               "McNemar exact p (examples)"]
    print(tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True))
    print("95% CI (seeds): Student-t over the paired seeds and splits. On the examples both cells of a "
          "shared seed and split logged: McNemar exact p, two-sided, flipping the two methods per example "
          "with all its seeds together (McNemar's exact test with one seed; repeating a seed changes "
          "nothing), and a bootstrap interval resampling examples with their seeds (2,000, fixed seed)"
          + ("" if any(row[-1] != "-" for row in rows) else " (none here: run both with --log-samples)"))
    return 0
