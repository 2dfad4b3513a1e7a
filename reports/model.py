"""The report model: everything a report of a stored run says, computed once from its records, which
every renderer (Markdown, LaTeX, HTML, CSV, a plugin's) reads."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from bench.core.errors import BenchError
from bench.core.store import ResultsStore
from reports.aggregate import cells_frame, group_frame, latest_per_run
from reports.findings import Findings, compute_findings
from reports.references import Reference, load_references
from reports.search import search_section, selection_groups


@dataclass(frozen=True)
class ReportModel:
    """A stored run as its reports see it: one row per run (`cells`), the report's rows (`groups`: each
    configuration outside a search and each search's selection), the published results set beside them,
    how many older records of runs stored again were left out, the model-selection section, the command
    that ran, and the figures drawn (file names in out_dir; none mid-run)."""

    out_dir: Path
    cells: pd.DataFrame
    groups: pd.DataFrame
    references: tuple[Reference, ...] = ()
    superseded: int = 0
    search_lines: tuple[str, ...] = ()
    command: str = ""
    figures: tuple[str, ...] = ()
    final: bool = True  # False mid-run: the figures and the findings wait for the end
    findings: Findings = Findings()  # rankings, the dev-test diagnostic, shot curves (final reports)

    @property
    def has_scores(self) -> bool:
        return not self.groups.empty

    def with_figures(self, figures: tuple[str, ...]) -> ReportModel:
        return replace(self, figures=figures)


def report_groups(cells: pd.DataFrame) -> pd.DataFrame:
    """The rows of the report: each configuration outside a search, and each search's selection."""
    plain = group_frame(cells[cells["search"] == ""])
    selected = selection_groups(cells)
    parts = [frame for frame in (plain, selected) if not frame.empty]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def build_report_model(out_dir: Path, *, reference_files=(), command: str = "",
                       final: bool = True) -> ReportModel:
    """The model of the run stored in out_dir, from the newest record of every run (latest_per_run)."""
    store = ResultsStore(out_dir)
    records = store.latest()
    if not records:
        raise BenchError(f"no results in {store.path}: run a sweep with --out {out_dir} first")
    stored = cells_frame(records)
    cells = latest_per_run(stored)  # every output counts a run once, whatever was stored again
    findings = compute_findings(Path(out_dir), cells) if final else Findings()
    return ReportModel(Path(out_dir), cells, report_groups(cells), tuple(load_references(reference_files)),
                       len(stored) - len(cells), tuple(search_section(cells)), command, final=final,
                       findings=findings)
