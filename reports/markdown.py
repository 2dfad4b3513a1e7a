"""The Markdown report: score table (mean ± std over seeds) and a per-cell measurement table."""

from __future__ import annotations

import pandas as pd
from tabulate import tabulate

from reports.stats import Summary, best_within_interval

SETTING_KEYS = ["model", "shots", "fewclue_split"]


def _points(value: float) -> str:
    return f"{100 * value:.1f}"


def _score_cell(mean: float, std: float, seeds: int) -> str:
    return f"{_points(mean)} ± {_points(std)}" if seeds > 1 else _points(mean)


def _best_per_task(groups: pd.DataFrame) -> set[tuple[str, str]]:
    best = set()
    for task, per_task in groups.groupby("task", sort=False):
        summaries = {row.method_label: Summary(row.seeds, row.score_mean, row.score_std, row.score_sem,
                                               row.score_ci_low, row.score_ci_high)
                     for row in per_task.itertuples()}
        best |= {(task, label) for label in best_within_interval(summaries)}
    return best


def score_table(groups: pd.DataFrame) -> str:
    """Methods as rows, tasks as columns, the best per task (and its ties) in bold, plus the
    majority-class baseline row."""
    tasks = list(dict.fromkeys(groups["task"]))
    best = _best_per_task(groups)
    rows = []
    for label, per_method in groups.groupby("method_label", sort=False):
        by_task = {}
        for row in per_method.itertuples():
            text = _score_cell(row.score_mean, row.score_std, row.seeds)
            by_task[row.task] = f"**{text}**" if (row.task, label) in best else text
        rows.append([label, *[by_task.get(task, "") for task in tasks]])
    majority = groups.groupby("task", sort=False)["majority"].first()
    rows.append(["majority class", *[_points(majority[task]) for task in tasks]])
    metrics = groups.groupby("task", sort=False)["metric"].first()
    headers = ["method", *[f"{task} ({metrics[task]})" for task in tasks]]
    return tabulate(rows, headers=headers, tablefmt="github")


def measurement_table(groups: pd.DataFrame) -> str:
    rows = [[row.task, row.method_label, row.seeds, _score_cell(row.score_mean, row.score_std, row.seeds),
             _points(row.dev_mean), f"{row.train_sps:.1f}" if pd.notna(row.train_sps) else "-",
             f"{row.eval_sps:.1f}" if pd.notna(row.eval_sps) else "-", f"{row.peak_mib:.0f}",
             f"{row.trainable:,}", f"{100 * row.trainable_share:.3g}%", row.mlm_head, row.n_train]
            for row in groups.itertuples()]
    headers = ["task", "method", "seeds", "score", "dev", "train samples/s", "eval samples/s",
               "peak MiB", "trainable params", "trainable %", "MLM head", "n train"]
    return tabulate(rows, headers=headers, tablefmt="github")


def render_report(cells: pd.DataFrame, groups: pd.DataFrame) -> str:
    lines = ["# PETBench report", ""]
    versions = sorted(set(cells["versions"])) if not cells.empty else []
    if versions:
        lines += [f"Versions: {'; '.join(versions)}", ""]
    if groups.empty:
        lines += ["No successful cells yet.", ""]
    for setting, part in ([] if groups.empty else groups.groupby(SETTING_KEYS, sort=False)):
        model, shots, split = setting
        split_text = f", FewCLUE split {split}" if split != "-" else ""
        lines += [f"## {model}, shots={shots}{split_text}", "",
                  f"Device: {part['device'].iloc[0]}, {part['dtype'].iloc[0]}. Scores are the task "
                  f"metric on the eval split, x100, mean ± std over seeds; bold: the best mean per "
                  f"task and every method whose mean lies inside its 95% t-interval.", "",
                  score_table(part), "", "### Measurements", "", measurement_table(part), ""]
    memory_kinds = sorted(set(groups["memory_kind"])) if not groups.empty else []
    if memory_kinds:
        lines += [f"Peak memory: {', '.join(memory_kinds)} (cpu_*: resident-set growth of the "
                  f"process during the cell; cuda_max_allocated: torch.cuda.max_memory_allocated).",
                  "MLM head `new`: the checkpoint has no MLM-head weights; the head was initialised "
                  "and trained.", ""]
    failed = cells[cells["status"] != "success"]
    if not failed.empty:
        lines += ["## Failed cells", "",
                  tabulate(failed[["cell_id", "error"]].values.tolist(), headers=["cell", "error"],
                           tablefmt="github"), ""]
    return "\n".join(lines)
