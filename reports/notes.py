"""What every report format says beside its tables, format-neutral: which rows to bold, the published
rows beside them, and the notes under a table (stalled runs, mixed settings, eval limits, where the
published numbers were read, failed cells). Each renderer (Markdown, LaTeX, HTML) spells them its way."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from bench.core.method import HeadOrigin
from bench.core.records import CellStatus
from reports.references import Reference
from reports.stats import Summary, best_within_interval

SECTION_KEYS = ["model", "shots"]  # one table per (model, shots)


def _points(value: float) -> str:
    return f"{100 * value:.1f}"


def best_per_task(groups: pd.DataFrame) -> set[tuple[str, str]]:
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


