"""Model selection over a --search grid: per seed (and official split), the setting with the best dev
score (under a K-fold selection protocol, the best mean over its folds: reports.aggregate.select_runs);
the eval scores of the selected runs are what the method's row reports. Selection never looks at
eval scores."""

from __future__ import annotations

import json

import pandas as pd
from tabulate import tabulate

from bench.core.records import CellStatus
from bench.core.selection import FIXED_DEV
from reports.aggregate import group_frame, select_runs


def searched(cells: pd.DataFrame) -> pd.DataFrame:
    return cells[(cells["status"] == CellStatus.SUCCESS) & (cells["search"] != "")]


def selected_cells(cells: pd.DataFrame) -> pd.DataFrame:
    """One row per (selection group, seed, split): the best dev score, on ties the first point of
    the --search grid, whatever order the records arrived in (a resume, Ray's completion order); a
    K-fold protocol's run is the mean of its folds."""
    return select_runs(searched(cells))


def _selected_by(protocol: str) -> str:
    """How a selection group's label names its protocol: `on dev` for the fixed dev set, else the
    protocol's text (`by cv:4`: the best mean dev score over its folds)."""
    return "on dev" if protocol == FIXED_DEV.text else f"by {protocol}"


def selected_label(method: str, protocol: str, targets: str) -> str:
    """A searched row's label: `lora (selected on dev over lr)`, `lora (selected by cv:4 over lr)`."""
    return f"{method} (selected {_selected_by(protocol)} over {targets})"


def selection_groups(cells: pd.DataFrame) -> pd.DataFrame:
    """Rows like group_frame's, one per selection group, over the selected cells."""
    chosen = selected_cells(cells)
    if chosen.empty:
        return pd.DataFrame()
    frame = group_frame(chosen, by="selection_id")
    targets = {row.selection_id: ", ".join(json.loads(row.search)) for row in chosen.itertuples()}
    pairs = zip(frame["method"], frame["selection_id"], strict=True)
    frame["method_label"] = [selected_label(method, protocol, targets[selection])
                             for (method, selection), protocol in zip(pairs, frame["selection_protocol"],
                                                                      strict=True)]
    frame["selection"] = [f"best dev ({protocol}) over {targets[selection]}" if protocol != FIXED_DEV.text
                          else f"best dev over {targets[selection]}"
                          for selection, protocol in zip(frame["selection_id"], frame["selection_protocol"],
                                                         strict=True)]
    return frame


def search_section(cells: pd.DataFrame) -> list[str]:
    """The report's `Search` section: what was selected for each group, seed and split."""
    chosen = selected_cells(cells)
    if chosen.empty:
        return []
    pool = searched(cells).groupby(["selection_id", "seed", "split"], sort=False)["search_index"].nunique()
    rows = [[row.task, row.method, row.model, row.shots, row.seed, row.split,
             ", ".join(f"{k}={v}" for k, v in json.loads(row.search).items()),
             pool[(row.selection_id, row.seed, row.split)], f"{100 * row.dev_score:.1f}",
             f"{100 * row.score:.1f}"]
            for row in chosen.itertuples()]
    headers = ["task", "method", "model", "shots", "seed", "split", "selected setting", "settings tried",
               "dev", "eval"]
    return ["## Search", "", "Per seed and split, the setting with the best dev score (the first in grid "
            "order on ties); eval scores played no part. Every setting's cells are in results.csv.", "",
            tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True), ""]
