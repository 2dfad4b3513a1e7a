"""Writes bench/training/prior_costs.json: each method's cost model (seconds per training and per
evaluated example, fixed seconds a cell) fitted to measured records, the order a machine with no cell
history of its own starts side-by-side cells in.

    .venv/bin/python scripts/derive_prior_costs.py docs/results/h200/cpu-default-xeon-2cores.csv \
        docs/results/zoo-prior-xeon-2cores.jsonl

Several files are fitted together; a method should have records in one of them only (the file is
keyed by method, so a method measured twice would keep only one fit).
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import pandas as pd

from bench.core.records import TEXT_FIELDS, CellResult
from bench.training.plan import PRIOR_COSTS_FILE, fit_costs


def read_records(path: Path) -> list[CellResult]:
    """Records from a results.csv or a results.jsonl."""
    if path.suffix == ".jsonl":
        return [CellResult.from_dict(json.loads(line)) for line in path.read_text().splitlines() if line]
    text = {name: str for name in TEXT_FIELDS}
    frame = pd.read_csv(path, keep_default_na=False, na_values=[""], dtype=text)
    rows = [{key: (None if isinstance(value, float) and math.isnan(value) else value)
             for key, value in row.items()} for row in frame.to_dict("records")]
    return [CellResult.from_dict(row) for row in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("records", type=Path, nargs="+",
                        help="results.csv or results.jsonl files of measured cells")
    args = parser.parse_args()
    records = [record for path in args.records for record in read_records(path)]
    costs = fit_costs(records)
    methods = {}
    for (method, model, device, cpu, dtype), cost in sorted(costs.items()):
        methods[method] = dict(per_train_example=cost.per_train_example,
                               per_eval_example=cost.per_eval_example, fixed=cost.fixed, cells=cost.cells,
                               model=model, device=device, cpu=cpu, dtype=dtype)
    revisions = sorted({record.petbench_revision for record in records if record.petbench_revision})
    source = ", ".join(str(path) for path in args.records)
    document = {"source": source, "petbench_revision": ", ".join(revisions), "methods": methods}
    PRIOR_COSTS_FILE.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {PRIOR_COSTS_FILE}: {len(methods)} methods from {len(records)} records of {source}")


if __name__ == "__main__":
    main()
