"""Reports written from a results store: results.csv, report.md with its figures, report.tex and
report.html (bench.reports.writer), each a renderer of one report model (reports.model). Importing this
package loads nothing heavy."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

REPORT_FILE = "report.md"
CSV_FILE = "results.csv"
HTML_FILE = "report.html"
__all__ = ["CSV_FILE", "HTML_FILE", "REPORT_FILE", "write_reports"]


def write_reports(out_dir: Path, *, reference_files: Sequence[Path] = (), command: str = "",
                  figures: bool = True) -> str:
    """Write the reports of the run stored in out_dir and return report.md's text (reports.writer)."""
    from reports.writer import write_reports as write

    return write(out_dir, reference_files=reference_files, command=command, figures=figures)
