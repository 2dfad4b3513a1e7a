"""report.html: one self-contained page beside report.md (leaderboard, drill-down, Pareto plot,
failed cells), with Plotly and DataTables inlined so that it opens offline from disk for years."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from bench import __version__
from bench.core.store import RESULTS_FILE
from reports import HTML_FILE
from reports.findings import DIAGNOSTIC_HEADERS, GROUPS_RULE, HOW_TO_READ, RANKING_HEADERS, Findings
from reports.html_assets import load_assets
from reports.html_data import attach_errors, failed_rows, header_facts, leaderboard_rows
from reports.model import ReportModel
from reports.notes import FAILED_COLUMNS, eval_limit_notes, mixed_notes, mlm_head_notes, reference_notes
from reports.references import Reference
from reports.renderers import register_renderer

_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


def _inline_markdown(text: str) -> str:
    """The notes borrowed from report.md: escaped, with their `code` spans kept as code."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))


def _facts_html(facts: dict[str, str]) -> str:
    return "".join(f"<dt>{html.escape(name)}</dt><dd>{html.escape(value)}</dd>"
                   for name, value in facts.items())


def _failed_html(cells: pd.DataFrame) -> str:
    rows = failed_rows(cells)
    if not rows:
        return '<p class="hint">No failed cells.</p>'
    header = "".join(f"<th>{name}</th>" for name in FAILED_COLUMNS)
    body = "".join("<tr>" + "".join(f'<td class="{name}">{html.escape(row[name])}</td>'
                                    for name in FAILED_COLUMNS) + "</tr>" for row in rows)
    return f'<table class="failed" id="failed"><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>'


def _notes_html(groups: pd.DataFrame, references: Sequence[Reference]) -> str:
    if groups.empty:
        return '<p class="hint">No successful cells yet.</p>'
    lines = [*mlm_head_notes(groups), *reference_notes(groups, references), *eval_limit_notes(groups),
             *mixed_notes(groups)]
    return "".join(f"<p>{_inline_markdown(line)}</p>" for line in lines if line)


def _table_html(headers: Sequence[str], rows: Sequence[Sequence[str]], css: str) -> str:
    head = "".join(f"<th>{html.escape(header)}</th>" for header in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>"
                   for row in rows)
    return f'<table class="{css}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _findings_html(findings: Findings) -> str:
    """The rankings with their intervals and groups, the dev-test diagnostic and the shot curves'
    crossovers, as in report.md."""
    parts = []
    if findings.rankings:
        parts.append(f"<h2>Rankings</h2><p>{_inline_markdown(GROUPS_RULE)}</p>")
        for ranked in findings.rankings:
            parts.append(f"<h3>{html.escape(ranked.title)}</h3>"
                         + _table_html(RANKING_HEADERS, ranked.rows(), "ranking")
                         + "".join(f"<p>{_inline_markdown(note)}</p>" for note in ranked.notes()))
    if findings.diagnostics:
        table = _table_html(DIAGNOSTIC_HEADERS, findings.diagnostic_rows(), "diagnostic")
        parts.append("<h2>Dev-test diagnostic</h2>" + table
                     + f"<p>{_inline_markdown(HOW_TO_READ)}</p>")
    if findings.has_shot_axis:
        items = "".join(f"<li>{html.escape(crossover.text)}</li>" for crossover in findings.crossovers)
        parts.append("<h2>Shot curves</h2>" + (f"<ul>{items}</ul>" if items else
                                               "<p>No crossover: the order holds at every shot count.</p>"))
    return "".join(parts)


def _json_for_script(value: object) -> str:
    """JSON that cannot end its <script> element early, whatever text a record holds."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")


def render_html(cells: pd.DataFrame, groups: pd.DataFrame, *, out_dir: Path, command: str = "",
                references: Sequence[Reference] = (), superseded: int = 0,
                findings: Findings | None = None) -> str:
    """The whole page as text (from one row per run; `superseded`: older records left out)."""
    assets = load_assets()
    rows = attach_errors(leaderboard_rows(cells, groups, references), out_dir)
    parts = {
        "title": "PETBench report", "version": html.escape(__version__),
        "written": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "results": f"<code>{html.escape(str(Path(out_dir) / RESULTS_FILE))}</code>",
        "facts": _facts_html(header_facts(cells, command, superseded=superseded)),
        "failed": _failed_html(cells),
        "notes": _notes_html(groups, references) + (_findings_html(findings) if findings else ""),
        "data": _json_for_script({"rows": rows}),
        "datatables_css": assets.datatables_css, "report_css": assets.report_css,
        "datatables_js": assets.datatables_js_base64, "plotly_js": assets.plotly_js,
        "report_js": assets.report_js,
    }
    # one pass, so that no inlined file's text is ever read as a placeholder
    return _PLACEHOLDER.sub(lambda match: parts[match[1]], assets.template)


@register_renderer("html", file=HTML_FILE, order=40)
def html_file(model: ReportModel) -> str:
    return render_html(model.cells, model.groups, out_dir=model.out_dir, command=model.command,
                       references=model.references, superseded=model.superseded, findings=model.findings)
