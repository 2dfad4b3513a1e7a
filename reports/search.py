"""Model selection over a --search grid: per seed (and official split), the setting with the best dev
score; the eval scores of the selected cells are what the method's row reports. Selection never
looks at eval scores."""

from __future__ import annotations

import json

import pandas as pd
from tabulate import tabulate

from bench.core.records import CellStatus
from reports.aggregate import group_frame


def searched(cells: pd.DataFrame) -> pd.DataFrame:
    return cells[(cells["status"] == CellStatus.SUCCESS) & (cells["search"] != "")]


def selected_cells(cells: pd.DataFrame) -> pd.DataFrame:
    """One cell per (selection group, seed, split): the best dev score, on ties the first point of
    the --search grid, whatever order the records arrived in (a resume, Ray's completion order)."""
    candidates = searched(cells)
    if candidates.empty:
        return candidates
    ordered = candidates.sort_values(["dev_score", "search_index"], ascending=[False, True], kind="stable")
    return ordered.drop_duplicates(["selection_id", "seed", "split"]).sort_index()


def selection_groups(cells: pd.DataFrame) -> pd.DataFrame:
    """Rows like group_frame's, one per selection group, over the selected cells."""
    chosen = selected_cells(cells)
    if chosen.empty:
        return pd.DataFrame()
    frame = group_frame(chosen, by="selection_id")
    targets = {row.selection_id: ", ".join(json.loads(row.search)) for row in chosen.itertuples()}
    pairs = zip(frame["method"], frame["selection_id"], strict=True)
    frame["method_label"] = [f"{method} (selected on dev over {targets[selection]})"
                             for method, selection in pairs]
    frame["selection"] = [f"best dev over {targets[selection]}" for selection in frame["selection_id"]]
    return frame


def search_section(cells: pd.DataFrame) -> list[str]:
    """The report's `Search` section: what was selected for each group, seed and split."""
    chosen = selected_cells(cells)
    if chosen.empty:
        return []
    pool = searched(cells).groupby(["selection_id", "seed", "split"], sort=False).size()
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
