"""How far a run is from the papers: each configuration's mean score (a --search: over its dev-selected
cells, as the report shows it) against every published result for its task, method and shots
(reports/references, --references FILE), with what makes a comparison doubtful flagged."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from reports.aggregate import config_labels
from reports.gate import Verdict, judge_change
from reports.references import Reference
from reports.regression import Tolerances
from reports.runs import one_per_run, scores, unusable, usable
from reports.search import selected_cells
from reports.stats import Summary, summarize


@dataclass(frozen=True)
class PaperGap:
    task: str
    method: str  # the configuration's label
    model: str
    shots: str
    run: Summary  # the run's scores over its seeds and splits, as fractions
    reference: Reference  # the published value, in points
    allowed: float  # the drop below the published value still within noise, as a fraction
    verdict: Verdict
    flags: tuple[str, ...] = ()  # what makes the comparison doubtful (majority class, a stalled cell, ...)

    @property
    def gap_points(self) -> float:
        return 100 * self.run.mean - self.reference.value

    @property
    def same_model(self) -> bool:
        return self.reference.model == self.model


@dataclass(frozen=True)
class PaperComparison:
    gaps: tuple[PaperGap, ...]
    set_aside: tuple[str, ...]  # published results for the task and method at other shots: not judged
    failed: tuple[str, ...]  # configurations with a published result and cells without a score


@dataclass(frozen=True)
class _Group:
    label: str
    cells: pd.DataFrame  # the cells whose scores count (a search: the selected ones)
    broken: int  # cells without a score (failed, NaN)


def allowed_gap(reference: Reference, runs: int, tolerances: Tolerances) -> float:
    """--accuracy-points, or --accuracy-sems standard errors of the run's mean taking the paper's std
    as the spread of one run, whichever is larger (a paper without a std: the points alone)."""
    if reference.std is None:
        return tolerances.accuracy_points / 100
    return max(tolerances.accuracy_points, tolerances.accuracy_sems * reference.std / math.sqrt(runs)) / 100


def compare_with_papers(cells: pd.DataFrame, references: Sequence[Reference],
                        tolerances: Tolerances | None = None) -> PaperComparison:
    """One gap per (configuration, published result of its task, method and shots), in the run's order."""
    tolerances = tolerances or Tolerances()
    gaps, set_aside, failed = [], [], []
    for group in _groups(one_per_run(cells).frame):
        first = group.cells.iloc[0]
        matching = [r for r in references if (r.task, r.method) == (first["task"], first["method"])]
        shots = str(first["shots"])
        for reference in (r for r in matching if r.shots not in (None, shots)):
            set_aside.append(f"{group.label} on {first['task']} ran shots {shots}; {reference.name} "
                             f"({reference.paper}) is for shots {reference.shots}: not judged")
        matching = [r for r in matching if r.shots in (None, shots)]
        if matching and group.broken:
            failed.append(f"{group.label} on {first['task']}: {group.broken} cell(s) without a score")
        scored = usable(group.cells)
        if not matching or scored.empty:
            continue
        run = summarize(scores(scored).tolist())
        for reference in matching:
            allowed = allowed_gap(reference, run.n, tolerances)
            verdict = judge_change(run.mean - reference.value / 100, allowed)
            gaps.append(PaperGap(str(first["task"]), group.label, str(first["model"]), shots, run, reference,
                                 allowed, verdict, _flags(scored, run, reference)))
    return PaperComparison(tuple(gaps), tuple(set_aside), tuple(failed))


def _groups(cells: pd.DataFrame) -> list[_Group]:
    """Each configuration outside a search, and each search over its dev-selected cells."""
    plain = cells[cells["search"].fillna("") == ""]
    labels = config_labels(plain) if not plain.empty else {}
    groups = [_Group(labels[key], rows, len(unusable(rows)))
              for key, rows in plain.groupby("config_id", sort=False)]
    searched = cells[cells["search"].fillna("") != ""]
    for _, rows in searched.groupby("selection_id", sort=False):
        chosen = selected_cells(usable(rows))
        targets = ", ".join(json.loads(rows["search"].iloc[0]))
        label = f"{rows['method'].iloc[0]} (selected on dev over {targets})"
        groups.append(_Group(label, rows if chosen.empty else chosen, len(unusable(rows))))
    return groups


def _flags(cells: pd.DataFrame, run: Summary, reference: Reference) -> tuple[str, ...]:
    majority = pd.to_numeric(cells["majority_score"], errors="coerce").mean()
    stalled = int(cells["never_beat_start"].astype(bool).sum())
    limit = int(pd.to_numeric(cells.get("eval_limit", pd.Series(0, index=cells.index))).max())
    flags = [f"at or below the majority class ({100 * majority:.1f})" if majority == majority
             and run.mean <= majority else "",
             f"{stalled} of {len(cells)} cells never beat their untrained start" if stalled else "",
             f"scored on an --eval-limit sample of {limit} examples" if limit else "",
             "the paper does not say its shots" if reference.shots is None else ""]
    return tuple(flag for flag in flags if flag)


def gap_rows(gaps: Sequence[PaperGap]) -> list[list[str]]:
    """A table row per gap: the run's mean with its 95% interval beside the paper's number."""
    rows = []
    for gap in gaps:
        run, ref = gap.run, gap.reference
        interval = "-" if run.n < 2 else f"[{100 * run.ci_low:.1f}, {100 * run.ci_high:.1f}]"
        published = f"{ref.value:.1f}" + (f" ± {ref.std:.1f}" if ref.std is not None else "")
        paper = f"{ref.name}: {ref.paper}; {ref.model}" + ("" if gap.same_model else ", different model")
        rows.append([_SAID[gap.verdict], gap.task, gap.method, gap.model, gap.shots, str(run.n),
                     f"{100 * run.mean:.1f}", interval, published, f"{gap.gap_points:+.1f}",
                     f"-{100 * gap.allowed:.2f}", paper, "; ".join(gap.flags) or "-"])
    return rows


_SAID = {Verdict.REGRESSED: "below", Verdict.IMPROVED: "above", Verdict.OK: "within"}
GAP_HEADERS = ["verdict", "task", "method", "model", "shots", "runs", "run", "95% CI", "published",
               "run - published (points)", "allowed", "published as", "flags"]
