"""The method zoo table of docs/results/zoo.md, from run folders that ran every method over its own
search space (`--search default`, each method's grid holding its default setting): per task and method
the default setting's eval score (the grid point at the method's defaults, a method without a grid: its
one setting), the dev-selected one's, the gap (searched minus default), trainable parameters, peak
memory and training seconds per cell (the searched row's: each selected setting's cell).

    .venv/bin/python scripts/zoo_table.py runs/zoo-sst2 [runs/zoo-eprstmt]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd
from tabulate import tabulate

from bench.core.method import get_method
from bench.core.store import ResultsStore
from bench.session.plugins import load_builtins
from reports.aggregate import cells_frame, group_frame, latest_per_run
from reports.model import report_groups


def default_points(cells: pd.DataFrame) -> pd.DataFrame:
    """The searched cells at their method's default setting (every searched knob at its default)."""
    keep = []
    for row in cells.itertuples():
        if not row.search:
            keep.append(False)
            continue
        defaults = get_method(row.method).make_config().knobs()
        point = {target.split(".", 1)[-1]: value for target, value in json.loads(row.search).items()}
        keep.append(all(_same(defaults.get(knob), value) for knob, value in point.items()))
    return cells[keep]


def _same(default, value: str) -> bool:
    try:
        return float(default) == float(value)
    except (TypeError, ValueError):
        return str(default) == value


def zoo_rows(folder: Path) -> list[list[str]]:
    cells = latest_per_run(cells_frame(ResultsStore(folder).latest()))
    groups = report_groups(cells)
    groups = groups[~groups["reference"]]
    at_defaults = group_frame(default_points(cells))
    rows = []
    for (task, method), part in groups.groupby(["task", "method"], sort=True):
        plain = part[part["method_label"] == method]
        searched = part[part["method_label"].str.contains("selected", regex=False)]
        if plain.empty and not at_defaults.empty:
            plain = at_defaults[(at_defaults["task"] == task) & (at_defaults["method"] == method)]
        default = plain.iloc[0] if len(plain) else None
        chosen = searched.iloc[0] if len(searched) else None
        shown = chosen if chosen is not None else default
        if shown is None:
            continue
        gap = (100 * (chosen.score_mean - default.score_mean)
               if chosen is not None and default is not None else float("nan"))
        rows.append([task, method, _score(default), _score(chosen), _points(gap), f"{int(shown.trainable):,}",
                     f"{shown.peak_mib:.0f}", f"{shown.train / max(shown.runs, 1):.1f}",
                     str(int(shown.runs))])
    return rows


def _score(row) -> str:
    if row is None:
        return "-"
    if row.runs < 2:
        return f"{100 * row.score_mean:.1f}"
    return f"{100 * row.score_mean:.1f} ± {100 * row.score_std:.1f}"


def _points(value: float) -> str:
    return "-" if pd.isna(value) else f"{value:+.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path)
    args = parser.parse_args()
    load_builtins()
    rows = [row for folder in args.folders for row in zoo_rows(folder)]
    headers = ["task", "method", "default", "searched (dev-selected)", "gap", "trainable", "peak MiB",
               "train s/cell", "runs"]
    print(tabulate(rows, headers=headers, tablefmt="github"))


if __name__ == "__main__":
    main()
