"""The Markdown report: per (model, shots) a score table (methods x tasks, mean ± std over seeds and
splits, with the majority class and the linear probe as reference rows) and a measurement table."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from tabulate import tabulate

from bench.core.selection import FIXED_DEV, SelectionProtocol
from reports import REPORT_FILE
from reports.aggregate import PHASES, superseded_note
from reports.findings import DIAGNOSTIC_HEADERS, GROUPS_RULE, HOW_TO_READ, RANKING_HEADERS, Findings
from reports.model import ReportModel
from reports.notes import (
    FAILED_COLUMNS,
    SECTION_KEYS,
    best_per_task,
    devices_text,
    eval_limit_notes,
    failed_cells,
    mixed_notes,
    mlm_head_notes,
    published_rows,
    reference_notes,
    shared_note,
    stalled_notes,
)
from reports.plots import FIGURES, vector_name
from reports.references import Reference
from reports.renderers import register_renderer


def _points(value: float) -> str:
    return f"{100 * value:.1f}"


def _score_cell(mean: float, std: float, runs: int) -> str:
    return f"{_points(mean)} ± {_points(std)}" if runs > 1 else _points(mean)


def _rate(value: float) -> str:
    return f"{value:.1f}" if pd.notna(value) else "-"


def score_table(groups: pd.DataFrame, references: Sequence[Reference] = ()) -> str:
    """Methods as rows, tasks as columns, the best per task (and its ties) in bold unless it is not
    above the majority class; then the reference rows: the majority class and the reference methods."""
    tasks = list(dict.fromkeys(groups["task"]))
    best = best_per_task(groups)

    def row_of(label: str, per_method: pd.DataFrame) -> list[str]:
        by_task = {}
        for row in per_method.itertuples():
            text = _score_cell(row.score_mean, row.score_std, row.runs)
            by_task[row.task] = f"**{text}**" if (row.task, label) in best else text
        return [label, *[by_task.get(task, "") for task in tasks]]

    methods = groups[~groups["reference"]]
    rows = [row_of(label, part) for label, part in methods.groupby("method_label", sort=False)]
    majority = groups.groupby("task", sort=False)["majority"].first()
    rows.append(["majority class (reference)", *[_points(majority[task]) for task in tasks]])
    rows += [row_of(f"{label} (reference)", part)
             for label, part in groups[groups["reference"]].groupby("method_label", sort=False)]
    rows += published_rows(groups, tasks, references)
    metrics = groups.groupby("task", sort=False)["metric"].first()
    headers = ["method", *[f"{task} ({metrics[task]})" for task in tasks]]
    return tabulate(rows, headers=headers, tablefmt="github")


def measurement_table(groups: pd.DataFrame) -> str:
    def rate(value: float, shared: int) -> str:  # a cell that shared the machine ran slower than alone
        return f"{_rate(value)}*" if shared > 1 and pd.notna(value) else _rate(value)

    rows = [[row.task, row.method_label, row.runs, row.splits or "-",
             _score_cell(row.score_mean, row.score_std, row.runs),
             _points(row.dev_mean) if pd.notna(row.dev_mean) else "-",
             rate(row.train_sps, row.cells_on_machine), rate(row.eval_sps, row.cells_on_machine),
             f"{row.peak_mib:.0f}", f"{row.trainable:,}", f"{100 * row.trainable_share:.3g}%",
             row.pooling or "-", _head_column(row),
             row.n_train, row.cells_on_machine]
            for row in groups.itertuples()]
    headers = ["task", "method", "runs", "splits", "score", "dev", "train samples/s", "eval samples/s",
               "peak MiB", "trainable params", "trainable %", "pooling", "MLM head", "n train",
               "cells on machine"]
    return tabulate(rows, headers=headers, tablefmt="github")


def _head_column(row) -> str:
    """The origin with its label (`continued (PCP: ...)`), else a pointer to the note for details."""
    if row.mlm_head_label:
        return f"{row.mlm_head} ({row.mlm_head_label})"
    return f"{row.mlm_head} (see note)" if row.mlm_head_detail else row.mlm_head


def budget_table(groups: pd.DataFrame) -> str:
    """Where each configuration's wall time went, summed over its runs: seconds and share per phase."""
    names = {"start": "start-up", "load": "model load", "encode": "encoding", "train": "training",
             "dev": "dev evals", "eval": "final eval"}
    def phase_cell(seconds: float, wall: float) -> str:
        return f"{seconds:.1f} ({100 * seconds / wall:.0f}%)" if wall > 0 else "-"

    rows = [[row.task, row.method_label, row.runs, f"{row.wall:.1f}",
             *[phase_cell(getattr(row, phase), row.wall) for phase in PHASES]] for row in groups.itertuples()]
    headers = ["task", "method", "runs", "wall s", *[f"{names[phase]} s" for phase in PHASES]]
    return tabulate(rows, headers=headers, tablefmt="github")


def selection_heading(part: pd.DataFrame) -> str:
    """How the section's rows were selected, named in its heading: the protocol of every search, and any
    protocol other than the fixed dev set (nothing for plain rows on the fixed dev set)."""
    if "selection_protocol" not in part.columns:
        return ""
    searched_rows = part["selection"].fillna("").astype(str) != "" if "selection" in part.columns else False
    searched = part[searched_rows | (part["selection_protocol"].fillna(FIXED_DEV.text) != FIXED_DEV.text)]
    protocols = [SelectionProtocol.parse(text) for text in dict.fromkeys(searched["selection_protocol"])]
    return "; selection: " + ", ".join(protocol.describe() for protocol in protocols) if protocols else ""


def section(part: pd.DataFrame, references: Sequence[Reference] = ()) -> list[str]:
    model, shots, family = part["model"].iloc[0], part["shots"].iloc[0], part["family"].iloc[0]
    model = f"{model} ({family})" if isinstance(family, str) and family else model
    devices = devices_text(part)
    if shots == "full" and (part["splits"] != "").any():  # the official splits are the task's few-shot sets
        sizes = ", ".join(str(round(n)) for n in sorted(set(part["n_train"])))
        shots = f"the official splits' ({sizes} train)"
    return [f"## {model}, shots={shots}{selection_heading(part)}", "",
            f"Device: {devices}. Scores are the task metric on the eval split, x100, mean ± std over the "
            f"runs (seeds x official splits); bold: the best mean per task and every method whose mean lies "
            f"inside its 95% t-interval, where above the majority class. A method listed with settings in "
            f"brackets ran in several configurations in this folder; each is its own row.", "",
            score_table(part, references), "", *reference_notes(part, references), *eval_limit_notes(part),
            *stalled_notes(part), *mixed_notes(part), "### Measurements", "",
            measurement_table(part), "", *shared_note(part), *mlm_head_notes(part), "",
            "### Where the time went", "", budget_table(part), ""]


def failed_table(cells: pd.DataFrame) -> list[str]:
    failed = failed_cells(cells)
    if failed.empty:
        return []
    table = tabulate(failed.values.tolist(), headers=FAILED_COLUMNS, tablefmt="github")
    return ["## Failed cells", "", table, ""]


def findings_lines(findings: Findings, *, final: bool = True) -> list[str]:
    """The rankings (bootstrap intervals, groups, stability), the dev-test diagnostic of every search and
    the shot curves' crossovers; mid-run, one line saying they come with the final report."""
    if not final:
        return ["## Rankings", "", "Computed when the sweep ends.", ""]
    lines = []
    if findings.rankings:
        lines += ["## Rankings", "", GROUPS_RULE, ""]
        for ranked in findings.rankings:
            lines += [f"### {ranked.title}", "",
                      tabulate(ranked.rows(), headers=RANKING_HEADERS, tablefmt="github"), "",
                      *ranked.notes(), ""]
    if findings.diagnostics:
        table = tabulate(findings.diagnostic_rows(), headers=DIAGNOSTIC_HEADERS, tablefmt="github")
        lines += ["## Dev-test diagnostic", "", table, "", HOW_TO_READ, ""]
    if findings.has_shot_axis:
        lines += ["## Shot curves", "", "Where one method overtakes another as the training set grows "
                  "(means over runs; the figure below draws each curve with its 95% band):", ""]
        crossings = [f"- {crossover.text}." for crossover in findings.crossovers]
        lines += crossings or ["- no crossover: the order holds at every shot count."]
        lines += [""]
    return lines


def render_report(cells: pd.DataFrame, groups: pd.DataFrame, *, search_lines: list[str],
                  references: Sequence[Reference] = (), superseded: int = 0,
                  findings: Findings | None = None, final: bool = True) -> str:
    """report.md from one row per run (`superseded`: the older records of runs stored again, left out)."""
    lines = ["# PETBench report", ""]
    versions = sorted(set(cells["versions"])) if not cells.empty else []
    if versions:
        lines += [f"Versions: {'; '.join(versions)}", ""]
    lines += ["Every cell's full configuration (method knobs, loop settings, model and data fingerprints) "
              "is in results.csv.", ""]
    if superseded:
        lines += [superseded_note(superseded), ""]
    if groups.empty:
        lines += ["No successful cells yet.", ""]
    for _, part in ([] if groups.empty else groups.groupby(SECTION_KEYS, sort=False)):
        lines += section(part, references)
    lines += search_lines
    if not groups.empty and findings is not None:
        lines += findings_lines(findings, final=final)
    if not groups.empty:
        kinds = sorted(set(groups["memory_kind"]))
        lines += [f"Peak memory: {', '.join(kinds)} (cpu_*: resident-set growth of the cell's own "
                  f"process; cuda_max_allocated: torch.cuda.max_memory_allocated). Throughput: train "
                  f"samples/s over the timed optimiser steps (examples are tokenised once, before; the "
                  f"first step is warm-up), eval samples/s over the final evaluation pass. Cells on "
                  f"machine: the most PETBench cells seen running on the machine during a cell. Where "
                  f"the time went: start-up is the cell's process start, imports and plugins; model load "
                  f"includes building the method; training counts the optimiser steps only.", ""]
    return "\n".join(lines + failed_table(cells))


@register_renderer("markdown", file=REPORT_FILE, order=10)
def markdown_report(model: ReportModel) -> str:
    """report.md, with its figures (drawn at the end of a run; mid-run a line says they will be)."""
    text = render_report(model.cells, model.groups, search_lines=list(model.search_lines),
                         references=model.references, superseded=model.superseded, findings=model.findings,
                         final=model.final)
    if model.figures:
        text += "\n## Figures\n\n" + "\n".join(f"![{FIGURES[name]}]({name}) ([SVG]({vector_name(name)}))"
                                              for name in model.figures) + "\n"
    elif not model.final:
        text += "\n## Figures\n\nDrawn when the sweep ends.\n"
    return text
