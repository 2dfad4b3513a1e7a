"""The protocol comparison of docs/results/selection.md, from run folders that ran one grid under
several --selection protocols (each folder one task): per task, method and protocol the dev-selected
eval score (the headline), the protocol's own oracle (the best eval score among its settings), the gap,
Kendall's tau of dev vs eval, and the cells the protocol trained.

    .venv/bin/python scripts/selection_comparison.py runs/selection-lmbff_sst2 runs/selection-eprstmt
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
from tabulate import tabulate

from bench.core.store import ResultsStore
from reports.aggregate import cells_frame, latest_per_run
from reports.runs import one_per_run, scores
from reports.selection_diagnostic import selection_diagnostics


def comparison(folder: Path) -> pd.DataFrame:
    cells = latest_per_run(cells_frame(ResultsStore(folder).latest()))
    protocol_of = dict(zip(cells["selection_id"], cells["selection_protocol"], strict=False))
    rows = [{"task": d.task, "method": d.method, "protocol": protocol_of.get(d.selection_id, "?"),
             "runs": d.runs, "settings": d.grid_points, "selected": 100 * d.selected,
             "oracle": 100 * d.oracle, "gap": 100 * d.gap,
             "tau": "-" if d.tau is None else f"{d.tau:.2f} [{d.tau_low:.2f}, {d.tau_high:.2f}]"}
            for d in selection_diagnostics(cells) if d.grid_points > 1]
    unsearched = one_per_run(cells[cells["search"] == ""]).frame
    for (task, method, protocol), part in unsearched.groupby(["task", "method", "selection_protocol"]):
        rows.append({"task": task, "method": method, "protocol": f"{protocol} (default setting)",
                     "runs": part["seed"].nunique(), "settings": 1, "selected": 100 * scores(part).mean(),
                     "oracle": float("nan"), "gap": float("nan"), "tau": "-"})
    frame = pd.DataFrame(rows)
    cells_per = cells.groupby(["task", "method", "selection_protocol"]).size().rename("cells").reset_index()
    frame["cells"] = [int(cells_per[(cells_per["task"] == row.task) & (cells_per["method"] == row.method)
                                    & (cells_per["selection_protocol"] == row.protocol.split(" ")[0])]
                           ["cells"].sum()) for row in frame.itertuples()]
    return frame.sort_values(["task", "method", "protocol"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path)
    args = parser.parse_args()
    frame = pd.concat([comparison(folder) for folder in args.folders], ignore_index=True)
    print(tabulate(frame.values.tolist(), headers=list(frame.columns), tablefmt="github", floatfmt=".1f"))


if __name__ == "__main__":
    main()
