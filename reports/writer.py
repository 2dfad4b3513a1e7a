"""Writing a stored run's reports: the report model once, the figures (at the end of a run), then
every registered renderer's file, each replaced whole (atomically)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.core.store import write_atomically
from reports import CSV_FILE
from reports.model import ReportModel, build_report_model
from reports.plots import write_plots
from reports.renderers import register_renderer, renderers_in_order
from reports.shot_curves import write_shot_curves

# the built-in renderers register themselves on import
from reports import html_report, latex, markdown  # noqa: E402,F401  isort: skip


@register_renderer("csv", file=CSV_FILE, order=0)
def csv_file(model: ReportModel) -> str:
    """results.csv: one row per run, every setting and figure of its newest record."""
    return model.cells.to_csv(index=False)


@dataclass(frozen=True)
class WrittenReports:
    markdown: str  # report.md's text
    files: tuple[Path, ...]  # every renderer's file written, in the renderers' order


def write_reports(out_dir: Path, *, reference_files: Sequence[Path] = (), command: str = "",
                  figures: bool = True) -> str:
    """Write every renderer's file next to results.jsonl and return report.md's text."""
    return write_report_files(out_dir, reference_files=reference_files, command=command,
                              figures=figures).markdown


def write_report_files(out_dir: Path, *, reference_files: Sequence[Path] = (), command: str = "",
                       figures: bool = True) -> WrittenReports:
    """Write every renderer's file next to results.jsonl (a renderer with nothing to say for this run,
    report.tex without a successful cell, writes nothing). Published results (the built-in sets and
    `reference_files`) stand beside matching rows; `command` is the command line the HTML header shows.
    figures=False (mid-run) leaves the figures, most of a rewrite's time, to the final report."""
    model = build_report_model(Path(out_dir), reference_files=reference_files, command=command, final=figures)
    if figures and model.has_scores:
        drawn = write_plots(model.groups, Path(out_dir))
        curves = model.findings.curves if model.findings.has_shot_axis else ()
        curve = write_shot_curves(list(curves), Path(out_dir)) if curves else None
        model = model.with_figures(tuple([*drawn, *([curve.name] if curve else [])]))
    texts, files = {}, []
    for renderer in renderers_in_order():
        text = renderer.render(model)
        if text is not None:
            write_atomically(Path(out_dir) / renderer.file, text)
            texts[renderer.name] = text
            files.append(Path(out_dir) / renderer.file)
    return WrittenReports(texts.get("markdown", ""), tuple(files))
