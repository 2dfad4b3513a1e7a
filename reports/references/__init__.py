"""Published results as data (reports/references/*.yaml, a user's file by path): each row a paper's
number for a (task, method), with the model, metric, protocol and where it was read. The report
prints them beside the measured rows of a matching task and method."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.core.errors import BenchError
from tasks.dialect import parse_documents

BUILT_IN = Path(__file__).resolve().parent
_SET_KEYS = {"paper", "table", "model", "metric", "protocol", "source", "rows"}
_OPTIONAL_SET_KEYS = {"shots"}  # the run's --shots the numbers belong to ("full": the whole train split)
_ROW_KEYS = {"task", "method", "name", "value", "std"}


@dataclass(frozen=True)
class Reference:
    paper: str
    table: str
    model: str
    metric: str
    protocol: str
    source: str  # where the number was read (repository, file, commit; or paper and table)
    task: str
    method: str  # the PETBench method it is set beside
    name: str  # what the paper calls the method
    value: float  # in points (x100), as published
    std: float | None = None
    shots: str | None = None  # as a run's shots column says it ("full", "32"); None: the file does not say


def load_references(paths: Sequence[Path] = ()) -> list[Reference]:
    """The built-in reference sets and the given files; a malformed file is a one-line error."""
    files = [*sorted(BUILT_IN.glob("*.yaml")), *paths]
    return [reference for path in files for reference in _read(Path(path))]


def _read(path: Path) -> list[Reference]:
    if not path.is_file():
        raise BenchError(f"reference file {path} not found: pass an existing .yaml file")
    documents = parse_documents(path, "reference file")  # keys given twice are refused, as in task files
    values = documents[0] if len(documents) == 1 else documents
    if not isinstance(values, dict) or not _SET_KEYS <= set(values) <= _SET_KEYS | _OPTIONAL_SET_KEYS:
        keys = sorted(values) if isinstance(values, dict) else type(values).__name__
        raise BenchError(f"reference file {path} must have exactly the keys {', '.join(sorted(_SET_KEYS))} "
                         f"and optionally {', '.join(sorted(_OPTIONAL_SET_KEYS))} (found {keys})")
    rows = values["rows"]
    if not isinstance(rows, list) or not rows:
        raise BenchError(f"reference file {path}: rows must be a non-empty list")
    references, seen = [], {}
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, dict) or not {"task", "method", "name", "value"} <= set(row) <= _ROW_KEYS:
            raise BenchError(f"reference file {path}, row {number}: keys are task, method, name, value and "
                             f"optionally std")
        value, std = _number(row["value"], path, number), _number(row.get("std"), path, number)
        if value is None or (std is not None and std < 0):
            problem = "value is empty" if value is None else f"std {std} is negative"
            raise BenchError(f"reference file {path}, row {number}: {problem}; give the published numbers")
        key = (str(row["task"]), str(row["method"]), str(row["name"]))
        if key in seen:
            raise BenchError(f"reference file {path}, rows {seen[key]} and {number} both give {key[2]} "
                             f"({key[1]}) on {key[0]}: keep one published number per row")
        seen[key] = number
        references.append(Reference(
            paper=str(values["paper"]), table=str(values["table"]), model=str(values["model"]),
            metric=str(values["metric"]), protocol=str(values["protocol"]), source=str(values["source"]),
            task=str(row["task"]), method=str(row["method"]), name=str(row["name"]), value=value, std=std,
            shots=None if values.get("shots") is None else str(values["shots"])))
    return references


def _number(raw, path: Path, number: int) -> float | None:
    """A finite float, or None for an absent value; `.nan`, `.inf` and text are one-line errors."""
    if raw is None:
        return None
    try:
        value = float(raw)
    except (TypeError, ValueError) as error:
        raise BenchError(f"reference file {path}, row {number}: value and std must be numbers") from error
    if isinstance(raw, bool) or not math.isfinite(value):
        raise BenchError(f"reference file {path}, row {number}: value and std must be finite numbers "
                         f"(found {raw!r})")
    return value
