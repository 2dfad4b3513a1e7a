"""What report.html shows, as JSON-ready data: one leaderboard row per configuration (measured,
reference and published rows), each with its cells for the drill-down, and the header's facts."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from bench.core.errors import BenchError
from bench.core.records import CellStatus
from bench.core.samples import SAMPLES_DIR, read_samples, samples_path
from reports.aggregate import superseded_note
from reports.notes import devices_text, failed_cells, matching_references
from reports.references import Reference
from reports.search import selected_cells

CELL_FIELDS = ("seed", "split", "score", "dev_score", "best_step", "wall_seconds", "cell_id")
ERRORS_SHOWN = 50  # a cell's wrong eval examples listed in its drill-down (the file holds them all)


def _number(value: object, digits: int = 4) -> float | None:
    """A JSON number (None for NaN or missing), rounded: 5,000 cells' worth of digits adds up."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return round(float(value), digits)


def _points(value: object) -> float | None:
    number = _number(value)
    return None if number is None else round(100 * number, 2)


def split_protocol(row: dict) -> str:
    """How the row's training examples were drawn: official splits, a sample per seed, or all of train."""
    if row["splits"]:
        return f"official splits {row['splits']}"
    return "whole train split" if row["shots"] == "full" else f"{row['shots']} sampled per seed"


def _cells_by(cells: pd.DataFrame, key: str) -> dict[str, list[dict]]:
    """The drill-down's cells grouped by `key`, in one pass (a pandas filter per row takes minutes at
    thousands of rows)."""
    grouped: dict[str, list[dict]] = {}
    for cell in cells[[key, *CELL_FIELDS]].to_dict("records"):
        grouped.setdefault(cell[key], []).append({
            "seed": int(cell["seed"]), "split": cell["split"], "score": _points(cell["score"]),
            "dev": _points(cell["dev_score"]), "best_step": int(cell["best_step"]),
            "wall": _number(cell["wall_seconds"], 1), "cell_id": cell["cell_id"]})
    return grouped


def _drill_downs(cells: pd.DataFrame) -> tuple[dict[str, list[dict]], dict[str, list[dict]]]:
    """Successful cells outside searches by config_id, and each search's selected cells by selection_id."""
    plain = cells[(cells["search"] == "") & (cells["status"] == CellStatus.SUCCESS)]
    return _cells_by(plain, "config_id"), _cells_by(selected_cells(cells), "selection_id")


def measured_row(row: dict, drill_downs: tuple[dict[str, list[dict]], dict[str, list[dict]]]) -> dict:
    selection = row.get("selection")
    selected = isinstance(selection, str)
    plain, chosen = drill_downs
    cells = chosen.get(row["selection_id"], []) if selected else plain.get(row["config_id"], [])
    return {
        "kind": "reference" if row["reference"] else "measured",
        "task": row["task"], "method": row["method_label"], "method_name": row["method"],
        "model": row["model"], "shots": str(row["shots"]),
        "protocol": split_protocol(row), "selection": selection if selected else "-",
        "score": _points(row["score_mean"]), "std": _points(row["score_std"]), "runs": int(row["runs"]),
        "dev": _points(row["dev_mean"]), "trainable": int(row["trainable"]),
        "trainable_share": _number(100 * row["trainable_share"], 5), "peak_mib": _number(row["peak_mib"], 1),
        "train_sps": _number(row["train_sps"], 2), "eval_sps": _number(row["eval_sps"], 2),
        "mlm_head": row["mlm_head"], "cells": cells,
    }


def unmeasured_row(**fields: object) -> dict:
    """A row with a score but no costs and no cells of its own: a paper's number, the majority class."""
    empty = dict.fromkeys(("std", "runs", "dev", "trainable", "trainable_share", "peak_mib", "train_sps",
                           "eval_sps"))
    return {**empty, "selection": "-", "mlm_head": "-", "cells": [], **fields}


def published_row(reference: Reference, shots: str) -> dict:
    """A paper's number beside the method it matches."""
    return unmeasured_row(kind="published", task=reference.task, model=reference.model, shots=shots,
                          method=f"{reference.name} (published: {reference.paper}, {reference.table})",
                          method_name=reference.method, protocol=reference.protocol, score=reference.value,
                          std=reference.std)


def majority_rows(part: pd.DataFrame) -> list[dict]:
    """Per task of one (model, shots) section, the score of always predicting the train majority label."""
    majority = part.groupby("task", sort=False).first()
    return [unmeasured_row(kind="reference", task=task, method="majority class", method_name="majority class",
                           model=row["model"], shots=str(row["shots"]), protocol=split_protocol(row),
                           score=_points(row["majority"]))
            for task, row in majority.iterrows() if pd.notna(row["majority"])]


def leaderboard_rows(cells: pd.DataFrame, groups: pd.DataFrame,
                     references: Sequence[Reference] = ()) -> list[dict]:
    """Every configuration's row, then per (model, shots) the majority class and the published results
    beside the task and method they match."""
    if groups.empty:
        return []
    drill_downs = _drill_downs(cells)
    rows = [measured_row(row, drill_downs) for row in groups.to_dict("records")]
    for (_, shots), part in groups.groupby(["model", "shots"], sort=False):
        rows += majority_rows(part)
        rows += [published_row(reference, str(shots)) for reference in matching_references(part, references)]
    return rows


def cell_errors(out_dir: Path, cell_id: str) -> dict | None:
    """A cell's wrong eval examples from its --log-samples file (None without one), most confident first."""
    path = samples_path(Path(out_dir) / SAMPLES_DIR, cell_id)
    if not path.exists():
        return None
    try:
        samples = read_samples(path)
    except BenchError:  # a corrupt file costs its drill-down, never the report
        return None
    wrong = sorted((sample for sample in samples if not sample.correct),
                   key=lambda sample: -sample.probabilities.get(sample.prediction, 0.0))
    return {"wrong": len(wrong), "total": len(samples),
            "examples": [{"text": sample.text, "gold": sample.gold, "prediction": sample.prediction,
                          "p": _number(sample.probabilities.get(sample.prediction), 3)}
                         for sample in wrong[:ERRORS_SHOWN]]}


def attach_errors(rows: list[dict], out_dir: Path) -> list[dict]:
    """Each drill-down cell with a samples file gains its errors (report.html shows them on a click)."""
    if not (Path(out_dir) / SAMPLES_DIR).is_dir():
        return rows
    for row in rows:
        for cell in row["cells"]:
            errors = cell_errors(out_dir, cell["cell_id"])
            if errors is not None:
                cell["errors"] = errors
    return rows


def failed_rows(cells: pd.DataFrame) -> list[dict]:
    """Each failed cell with what identifies it and its error."""
    records = failed_cells(cells).to_dict("records")
    return [{name: str(value) for name, value in row.items()} for row in records]


def header_facts(cells: pd.DataFrame, command: str, *, superseded: int = 0) -> dict[str, str]:
    """The header: what ran where, with which libraries and precision, written by which command, and
    how many superseded records (older records of runs stored again) were left out."""
    versions = sorted(set(cells["versions"]) - {""})
    failed = int((cells["status"] != CellStatus.SUCCESS).sum())
    # a cell that failed before choosing a device names none
    devices = cells[cells["device"] != ""][["device", "dtype", "cpu"]].drop_duplicates()
    return {"Cells": f"{len(cells):,} ({failed:,} failed)",
            **({"Superseded": superseded_note(superseded)} if superseded else {}),
            "Device and precision": devices_text(devices) or "-",
            "Versions": "; ".join(versions) or "-",
            "Command": command or "-"}
