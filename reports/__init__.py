"""Reports written from a results store: results.csv and report.md."""

from __future__ import annotations

from pathlib import Path

from bench.errors import BenchError
from bench.results import ResultsStore, write_atomically
from reports.aggregate import cells_frame, group_frame
from reports.markdown import render_report
from reports.plots import FIGURES, write_plots

REPORT_FILE = "report.md"
CSV_FILE = "results.csv"


def write_reports(out_dir: Path) -> str:
    """Write results.csv and report.md next to results.jsonl; return the Markdown."""
    store = ResultsStore(out_dir)
    records = store.latest()
    if not records:
        raise BenchError(f"no results in {store.path}: run a sweep with --out {out_dir} first")
    cells = cells_frame(records)
    groups = group_frame(cells)
    write_atomically(Path(out_dir) / CSV_FILE, cells.to_csv(index=False))
    markdown = render_report(cells, groups)
    figures = write_plots(groups, Path(out_dir)) if not groups.empty else []
    if figures:
        markdown += "\n## Figures\n\n" + "\n".join(f"![{FIGURES[name]}]({name})" for name in figures) + "\n"
    write_atomically(Path(out_dir) / REPORT_FILE, markdown)
    return markdown
