"""How far a run is from the papers: each configuration's mean score against every published result
for its task and method (reports/references, --references FILE)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from bench.core.records import CellStatus
from reports.aggregate import config_labels
from reports.references import Reference
from reports.regression import Tolerances, Verdict, judge_change
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

    @property
    def gap_points(self) -> float:
        return 100 * self.run.mean - self.reference.value

    @property
    def same_model(self) -> bool:
        return self.reference.model == self.model


def allowed_gap(reference: Reference, runs: int, tolerances: Tolerances) -> float:
    """--accuracy-points, or --accuracy-sems standard errors of the run's mean taking the paper's std
    as the spread of one run, whichever is larger (a paper without a std: the points alone)."""
    if reference.std is None:
        return tolerances.accuracy_points / 100
    return max(tolerances.accuracy_points, tolerances.accuracy_sems * reference.std / math.sqrt(runs)) / 100


def paper_gaps(cells: pd.DataFrame, references: Sequence[Reference],
               tolerances: Tolerances | None = None) -> list[PaperGap]:
    """One gap per (configuration, published result of its task and method), in the run's order."""
    tolerances = tolerances or Tolerances()
    ok = cells[cells["status"] == CellStatus.SUCCESS]
    if ok.empty or not references:
        return []
    labels = config_labels(ok)
    gaps = []
    for config_id, group in ok.groupby("config_id", sort=False):
        first = group.iloc[0]
        matching = [r for r in references if (r.task, r.method) == (first["task"], first["method"])]
        if not matching:
            continue
        run = summarize(group["score"].astype(float).tolist())
        for reference in matching:
            allowed = allowed_gap(reference, run.n, tolerances)
            verdict = judge_change(run.mean - reference.value / 100, allowed)
            gaps.append(PaperGap(str(first["task"]), labels[config_id], str(first["model"]),
                                 str(first["shots"]), run, reference, allowed, verdict))
    return gaps


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
                     f"-{100 * gap.allowed:.2f}", paper])
    return rows


_SAID = {Verdict.REGRESSED: "below", Verdict.IMPROVED: "above", Verdict.OK: "within"}
GAP_HEADERS = ["verdict", "task", "method", "model", "shots", "runs", "run", "95% CI", "published",
               "run - published (points)", "allowed", "published as"]
