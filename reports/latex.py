"""report.tex: the score tables as booktabs LaTeX, ready for a paper: methods x tasks, mean ± std over
the runs, the best per column in bold, the majority class and the reference rows in a block below."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from reports.aggregate import superseded_note
from reports.findings import DIAGNOSTIC_HEADERS, RANKING_HEADERS, Findings
from reports.model import ReportModel
from reports.notes import SECTION_KEYS, best_per_task, published_rows
from reports.references import Reference
from reports.renderers import register_renderer

LATEX_FILE = "report.tex"
_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
            "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def escape(text: str) -> str:
    """Text as LaTeX prints it literally (method labels and task names hold _ and =)."""
    return "".join(_SPECIAL.get(character, character) for character in str(text))


def score_cell(mean: float, std: float, runs: int, *, bold: bool = False) -> str:
    """`$73.1 \\pm 1.2$` (math mode keeps the numbers aligned); a single run has no spread."""
    body = f"{100 * mean:.1f} \\pm {100 * std:.1f}" if runs > 1 else f"{100 * mean:.1f}"
    return f"$\\mathbf{{{body}}}$" if bold else f"${body}$"


def _published_cell(text: str) -> str:
    return "$" + text.replace(" ± ", r" \pm ") + "$" if text else ""


def _method_rows(groups: pd.DataFrame, tasks: list[str], best: set[tuple[str, str]], *,
                 suffix: str = "") -> list[list[str]]:
    rows = []
    for label, part in groups.groupby("method_label", sort=False):
        by_task = {row.task: score_cell(row.score_mean, row.score_std, row.runs,
                                        bold=(row.task, label) in best) for row in part.itertuples()}
        rows.append([escape(label + suffix), *[by_task.get(task, "") for task in tasks]])
    return rows


def latex_table(part: pd.DataFrame, references: Sequence[Reference] = ()) -> str:
    """One (model, shots) section's score table as a booktabs `table` environment."""
    tasks = list(dict.fromkeys(part["task"]))
    best = best_per_task(part)
    metrics = part.groupby("task", sort=False)["metric"].first()
    majority = part.groupby("task", sort=False)["majority"].first()
    methods = _method_rows(part[~part["reference"]], tasks, best)
    apart = [["majority class", *[f"${100 * majority[task]:.1f}$" if pd.notna(majority[task]) else "--"
                                  for task in tasks]],
             *_method_rows(part[part["reference"]], tasks, set(), suffix=" (reference)"),
             *[[escape(row[0]), *map(_published_cell, row[1:])] for row in published_rows(part, tasks,
                                                                                         references)]]
    model, shots = part["model"].iloc[0], part["shots"].iloc[0]
    runs = sorted(set(part["runs"]))
    caption = (f"{escape(model)}, shots={escape(shots)}: the task metric on the eval split ($\\times 100$), "
               f"mean $\\pm$ std over {'/'.join(map(str, runs))} runs (seeds $\\times$ splits); bold: the "
               f"best mean per column and its ties (within its 95\\% t-interval), above the majority class.")
    header = ["Method", *[f"{escape(task)} ({escape(metrics[task])})" for task in tasks]]
    lines = [r"\begin{table}[t]", r"\centering", f"\\caption{{{caption}}}",
             f"\\begin{{tabular}}{{l{'c' * len(tasks)}}}", r"\toprule", _row(header), r"\midrule",
             *map(_row, methods), r"\midrule", *map(_row, apart), r"\bottomrule", r"\end{tabular}",
             r"\end{table}"]
    return "\n".join(lines)


def _row(cells: Sequence[str]) -> str:
    return " & ".join(cells) + r" \\"


def latex_report(groups: pd.DataFrame, references: Sequence[Reference] = (), *, superseded: int = 0) -> str:
    """Every section's table; `\\usepackage{booktabs}` in the preamble is all it needs. Superseded
    records (older records of runs stored again) are named in a comment."""
    tables = [latex_table(part, references) for _, part in groups.groupby(SECTION_KEYS, sort=False)]
    note = f"% {superseded_note(superseded)}\n" if superseded else ""
    return "% PETBench scores; needs \\usepackage{booktabs}\n" + note + "\n" + "\n\n".join(tables) + "\n"


def findings_tables(findings: Findings) -> list[str]:
    """The rankings (mean, bootstrap 95% interval, group letters) and the dev-test diagnostic as
    booktabs tables."""
    tables = []
    for ranked in findings.rankings:
        caption = (f"{escape(ranked.title)}: mean and 95\\% interval (x100); methods sharing a letter "
                   f"cannot be told apart (paired tests, Holm-corrected at 5\\%). "
                   f"{escape(' '.join(ranked.notes()))}")
        columns = "l" + "c" * (len(RANKING_HEADERS) - 1)
        tables.append(_booktabs(caption, RANKING_HEADERS, ranked.rows(), columns))
    if findings.diagnostics:
        caption = ("Dev-test diagnostic: the dev-selected eval score (the headline), the best eval score of "
                   "the grid (an oracle, not a result), their gap, and Kendall's tau of dev vs eval (x100).")
        tables.append(_booktabs(caption, DIAGNOSTIC_HEADERS, findings.diagnostic_rows(),
                                "lll" + "c" * (len(DIAGNOSTIC_HEADERS) - 3)))
    return tables


def _booktabs(caption: str, headers: Sequence[str], rows: Sequence[Sequence[str]], columns: str) -> str:
    lines = [r"\begin{table}[t]", r"\centering", f"\\caption{{{caption}}}",
             f"\\begin{{tabular}}{{{columns}}}",
             r"\toprule", _row([escape(header) for header in headers]), r"\midrule",
             *[_row([escape(cell) for cell in row]) for row in rows], r"\bottomrule", r"\end{tabular}",
             r"\end{table}"]
    return "\n".join(lines)


@register_renderer("latex", file=LATEX_FILE, order=30)
def latex_file(model: ReportModel) -> str | None:
    """report.tex holds tables of scores: a run without a successful cell has none, and gets no file."""
    if not model.has_scores:
        return None
    text = latex_report(model.groups, model.references, superseded=model.superseded)
    extra = findings_tables(model.findings)
    return text + ("\n" + "\n\n".join(extra) + "\n" if extra else "")
