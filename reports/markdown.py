"""The Markdown report: per (model, shots) a score table (methods x tasks, mean ± std over seeds and
splits, with the majority class and the linear probe as reference rows) and a measurement table."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from tabulate import tabulate

from bench.core.method import HeadOrigin
from bench.core.records import CellStatus
from reports.aggregate import PHASES, superseded_note
from reports.references import Reference
from reports.stats import Summary, best_within_interval

SECTION_KEYS = ["model", "shots"]


def _points(value: float) -> str:
    return f"{100 * value:.1f}"


def _score_cell(mean: float, std: float, runs: int) -> str:
    return f"{_points(mean)} ± {_points(std)}" if runs > 1 else _points(mean)


def _rate(value: float) -> str:
    return f"{value:.1f}" if pd.notna(value) else "-"


def _best_per_task(groups: pd.DataFrame) -> set[tuple[str, str]]:
    """(task, method) pairs to bold: the best mean and its ties, never a mean at or below the majority
    class (a method that learned nothing is not the best of anything)."""
    best = set()
    for task, per_task in groups[~groups["reference"]].groupby("task", sort=False):
        majority = per_task["majority"].iloc[0]
        summaries = {row.method_label: Summary(row.runs, row.score_mean, row.score_std, row.score_sem,
                                               row.score_ci_low, row.score_ci_high)
                     for row in per_task.itertuples()}
        best |= {(task, label) for label in best_within_interval(summaries)
                 if pd.isna(majority) or summaries[label].mean > majority}
    return best


def score_table(groups: pd.DataFrame, references: Sequence[Reference] = ()) -> str:
    """Methods as rows, tasks as columns, the best per task (and its ties) in bold unless it is not
    above the majority class; then the reference rows: the majority class and the reference methods."""
    tasks = list(dict.fromkeys(groups["task"]))
    best = _best_per_task(groups)

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


def published_rows(groups: pd.DataFrame, tasks: list[str],
                   references: Sequence[Reference]) -> list[list[str]]:
    """A row per published result set whose task and method match rows of this table, its model named
    and marked when it is not the one measured here."""
    rows: dict[tuple[str, str, str, str], dict[str, str]] = {}
    for reference in matching_references(groups, references):
        key = (reference.name, reference.method, reference.paper, reference.model)
        text = f"{reference.value:.1f}" + (f" ± {reference.std:.1f}" if reference.std is not None else "")
        rows.setdefault(key, {})[reference.task] = text
    if not rows:
        return []
    model = groups["model"].iloc[0]
    lines = []
    for (name, method, paper, reference_model), by_task in rows.items():
        other = "" if reference_model == model else ", different model"
        label = f"{name} (published, beside {method}: {paper}; {reference_model}{other})"
        lines.append([label, *[by_task.get(task, "") for task in tasks]])
    return lines


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


def mlm_head_notes(groups: pd.DataFrame) -> list[str]:
    """Where every MLM head read in this report came from."""
    origins = groups[groups["mlm_head"] != HeadOrigin.NONE][["model", "mlm_head", "mlm_head_detail"]]
    origins = origins.drop_duplicates()
    if origins.empty:
        return ["MLM head: no method in this report reads a masked-LM head."]
    texts = {HeadOrigin.NEW: "the checkpoint has no MLM-head weights; a head was initialised in each cell "
                             "and trained",
             HeadOrigin.PRETRAINED: "the checkpoint's own pre-trained MLM head",
             HeadOrigin.CONTINUED: "trained by `run_bench.py pretrain` (continued masked-LM pre-training)"}
    lines = []
    for row in origins.itertuples():
        detail = f"; {row.mlm_head_detail}" if row.mlm_head_detail else ""
        meaning = texts.get(row.mlm_head, row.mlm_head)
        lines.append(f"MLM head of {row.model}: `{row.mlm_head}`, {meaning}{detail}.")
    return lines


def stalled_notes(groups: pd.DataFrame) -> list[str]:
    """A warning per configuration with cells whose dev score never rose above the untrained start."""
    lines = [f"Warning: {row.method_label} on {row.task}: {row.stalled} of {row.runs} cells never scored "
             f"above their untrained start on dev (its score is an epoch end's all the same; the learning "
             f"rate may be too small or too large)." for row in groups.itertuples() if row.stalled]
    return [*lines, ""] if lines else []


def mixed_notes(groups: pd.DataFrame) -> list[str]:
    """A note per configuration whose runs came from different code or libraries (a folder re-run in
    part after a commit or an upgrade): its row mixes them until the rest is re-run."""
    lines = []
    for row in groups.itertuples():
        parts = ([f"{row.codes} versions of the code"] if row.codes > 1 else []) + (
            [f"{row.library_sets} sets of library versions"] if row.library_sets > 1 else [])
        if parts:
            lines.append(f"Mixed: {row.method_label} on {row.task} combines runs of {' and '.join(parts)} "
                         f"(results.csv: code_digest, versions); run the same command again to bring every "
                         f"run to this code and these libraries.")
    return [*lines, ""] if lines else []


def devices_text(frame: pd.DataFrame) -> str:
    """The devices, precisions and CPUs the rows of `frame` ran on, one `device, dtype, cpu` each."""
    return "; ".join(sorted({f"{row.device}, {row.dtype}" + (f", {row.cpu}" if row.cpu else "")
                             for row in frame.itertuples()}))


def section(part: pd.DataFrame, references: Sequence[Reference] = ()) -> list[str]:
    model, shots, family = part["model"].iloc[0], part["shots"].iloc[0], part["family"].iloc[0]
    model = f"{model} ({family})" if isinstance(family, str) and family else model
    devices = devices_text(part)
    if shots == "full" and (part["splits"] != "").any():  # the official splits are the task's few-shot sets
        shots = f"the official splits' ({', '.join(str(n) for n in sorted(set(part['n_train'])))} train)"
    return [f"## {model}, shots={shots}", "",
            f"Device: {devices}. Scores are the task metric on the eval split, x100, mean ± std over the "
            f"runs (seeds x official splits); bold: the best mean per task and every method whose mean lies "
            f"inside its 95% t-interval, where above the majority class. A method listed with settings in "
            f"brackets ran in several configurations in this folder; each is its own row.", "",
            score_table(part, references), "", *reference_notes(part, references), *eval_limit_notes(part),
            *stalled_notes(part), *mixed_notes(part), "### Measurements", "",
            measurement_table(part), "", *shared_note(part), *mlm_head_notes(part), "",
            "### Where the time went", "", budget_table(part), ""]


def matching_references(groups: pd.DataFrame, references: Sequence[Reference]) -> list[Reference]:
    """The published results whose task and method ran in this table."""
    if not references:
        return []
    measured = set(zip(groups["task"], groups["method"], strict=True))
    return [reference for reference in references if (reference.task, reference.method) in measured]


def reference_notes(groups: pd.DataFrame, references: Sequence[Reference]) -> list[str]:
    """Where each published row beside this table was read."""
    sources = dict.fromkeys(f"{r.paper}, {r.table}: {r.source} (protocol {r.protocol}, {r.metric})"
                            for r in matching_references(groups, references))
    return [*[f"Published: {source}." for source in sources], ""] if sources else []


def eval_limit_notes(groups: pd.DataFrame) -> list[str]:
    """--eval-limit scores are a quick look, not the task's number: say so under the table."""
    limited = groups[groups["eval_limit"] > 0]
    lines = [f"Eval limited: {row.method_label} on {row.task} scored {row.n_eval} eval examples only "
             f"(--eval-limit, a fixed stratified sample), not the whole split: not a number to publish."
             for row in limited.itertuples()]
    return [*lines, ""] if lines else []


def shared_note(groups: pd.DataFrame) -> list[str]:
    if (groups["cells_on_machine"] > 1).any():
        return ["*: throughput of cells that shared the machine with other cells (--jobs, or another "
                "sweep); alone they run faster.", ""]
    return []


FAILED_COLUMNS = ["task", "method", "model", "seed", "split", "error"]


def failed_cells(cells: pd.DataFrame) -> pd.DataFrame:
    """The cells that did not succeed, with what identifies each and its error."""
    return cells[cells["status"] != CellStatus.SUCCESS][FAILED_COLUMNS]


def failed_table(cells: pd.DataFrame) -> list[str]:
    failed = failed_cells(cells)
    if failed.empty:
        return []
    table = tabulate(failed.values.tolist(), headers=FAILED_COLUMNS, tablefmt="github")
    return ["## Failed cells", "", table, ""]


def render_report(cells: pd.DataFrame, groups: pd.DataFrame, *, search_lines: list[str],
                  references: Sequence[Reference] = (), superseded: int = 0) -> str:
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
