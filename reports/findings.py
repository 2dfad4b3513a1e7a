"""The report's statistical findings, computed once per final report and spelt by every renderer:
rankings with bootstrap intervals and groups of methods that cannot be told apart (reports.ranking),
the dev-test diagnostic of every search (reports.selection_diagnostic), and shot curves with their
crossovers (reports.shot_curves). Each is given as headers, rows and notes, format-neutral."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from bench.core.samples import SAMPLES_DIR
from reports.ranking import TableRanking
from reports.ranking_inputs import RankingTable, ranking_tables
from reports.selection_diagnostic import HOW_TO_READ, SelectionDiagnostic, selection_diagnostics
from reports.shot_curves import Crossover, ShotCurve, crossovers, shot_curves

RANKING_HEADERS = ["method", "mean", "95% CI", "group", "runs"]
DIAGNOSTIC_HEADERS = ["task", "method", "shots", "runs", "settings", "selected (headline)", "oracle (eval)",
                      "gap", "Kendall's tau [95% CI]"]
GROUPS_RULE = ("Methods sharing a letter in `group` cannot be told apart: paired tests on the seeds and "
               "examples they share, Holm-corrected at 5% (docs/results/ranking.md).")


@dataclass(frozen=True)
class Ranked:
    table: RankingTable
    ranking: TableRanking

    @property
    def title(self) -> str:
        return f"{self.table.task} ({self.table.metric}), {self.table.model}, shots={self.table.shots}"

    def rows(self) -> list[list[str]]:
        return [[interval.name, _points(interval.mean),
                 f"[{_points(interval.low)}, {_points(interval.high)}]",
                 self.ranking.letters.get(interval.name, ""), str(interval.runs)]
                for interval in self.ranking.intervals]

    def notes(self) -> list[str]:
        stability = self.ranking.stability.text if self.ranking.stability else ""
        return [line for line in (self.ranking.note, stability) if line]


@dataclass(frozen=True)
class Findings:
    rankings: tuple[Ranked, ...] = ()
    diagnostics: tuple[SelectionDiagnostic, ...] = ()
    curves: tuple[ShotCurve, ...] = ()
    crossovers: tuple[Crossover, ...] = ()

    def diagnostic_rows(self) -> list[list[str]]:
        return [[d.task, d.method, d.shots, str(d.runs), str(d.grid_points), _points(d.selected),
                 _points(d.oracle), _points(d.gap), _tau(d)] for d in self.diagnostics]

    @property
    def has_shot_axis(self) -> bool:
        return any(len(curve.points) > 1 for curve in self.curves)


def compute_findings(out_dir: Path, cells: pd.DataFrame) -> Findings:
    """Every finding of the stored run (reads the samples files the cells wrote, where they did)."""
    if cells.empty:
        return Findings()
    tables = ranking_tables(cells, Path(out_dir) / SAMPLES_DIR)
    ranked = tuple(Ranked(table, table.ranked()) for table in tables if len(table.methods) > 1)
    curves = tuple(shot_curves(cells))
    return Findings(ranked, tuple(selection_diagnostics(cells)), curves, tuple(crossovers(list(curves))))


def _points(value: float) -> str:
    return f"{100 * value:.1f}"


def _tau(diagnostic: SelectionDiagnostic) -> str:
    if diagnostic.tau is None:
        return "-"
    if diagnostic.tau_low is None or diagnostic.tau_high is None:
        return f"{diagnostic.tau:.2f}"
    return f"{diagnostic.tau:.2f} [{diagnostic.tau_low:.2f}, {diagnostic.tau_high:.2f}]"


__all__ = ["DIAGNOSTIC_HEADERS", "GROUPS_RULE", "HOW_TO_READ", "RANKING_HEADERS", "Findings", "Ranked",
           "compute_findings"]
