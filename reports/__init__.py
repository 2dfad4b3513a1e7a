"""Reports written from a results store: results.csv, report.md with its figures, report.tex and
report.html."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from bench.core.errors import BenchError
from bench.core.store import ResultsStore, write_atomically
from reports.aggregate import cells_frame, group_frame, latest_per_run
from reports.html_report import HTML_FILE, write_html_report
from reports.latex import LATEX_FILE, latex_report
from reports.markdown import render_report
from reports.plots import FIGURES, vector_name, write_plots
from reports.references import load_references
from reports.search import search_section, selection_groups

REPORT_FILE = "report.md"
CSV_FILE = "results.csv"
__all__ = ["CSV_FILE", "HTML_FILE", "REPORT_FILE", "report_groups", "write_reports"]


def report_groups(cells: pd.DataFrame) -> pd.DataFrame:
    """The rows of the report: each configuration outside a search, and each search's selection."""
    plain = group_frame(cells[cells["search"] == ""])
    selected = selection_groups(cells)
    parts = [frame for frame in (plain, selected) if not frame.empty]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def write_reports(out_dir: Path, *, reference_files: Sequence[Path] = (), command: str = "",
                  figures: bool = True) -> str:
    """Write results.csv, report.md (with figures), report.tex and report.html next to results.jsonl,
    each from the newest record of every run (latest_per_run); return the Markdown. Published results
    (the built-in sets and `reference_files`) stand beside matching rows; `command` is the command line
    the HTML header shows. figures=False (mid-sweep) leaves the figures, most of a rewrite's time, to
    the final report."""
    store = ResultsStore(out_dir)
    records = store.latest()
    if not records:
        raise BenchError(f"no results in {store.path}: run a sweep with --out {out_dir} first")
    stored = cells_frame(records)
    cells = latest_per_run(stored)  # every output below counts a run once, whatever was stored again
    superseded = len(stored) - len(cells)
    groups = report_groups(cells)
    write_atomically(Path(out_dir) / CSV_FILE, cells.to_csv(index=False))
    references = load_references(reference_files)
    markdown = render_report(cells, groups, search_lines=search_section(cells), references=references,
                             superseded=superseded)
    drawn = write_plots(groups, Path(out_dir)) if figures and not groups.empty else []
    if drawn:
        markdown += "\n## Figures\n\n" + "\n".join(f"![{FIGURES[name]}]({name}) ([SVG]({vector_name(name)}))"
                                                  for name in drawn) + "\n"
    elif not figures:
        markdown += "\n## Figures\n\nDrawn when the sweep ends.\n"
    if not groups.empty:
        write_atomically(Path(out_dir) / LATEX_FILE, latex_report(groups, references, superseded=superseded))
    write_atomically(Path(out_dir) / REPORT_FILE, markdown)
    write_html_report(Path(out_dir), cells, groups, command=command, references=references,
                      superseded=superseded)
    return markdown
