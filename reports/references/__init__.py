"""Published results as data (reports/references/*.yaml, a user's file by path): each row a paper's
number for a (task, method), with the model, metric, protocol and where it was read. The report
prints them beside the measured rows of a matching task and method."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from bench.core.errors import BenchError

BUILT_IN = Path(__file__).resolve().parent
_SET_KEYS = {"paper", "table", "model", "metric", "protocol", "source", "rows"}
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


def load_references(paths: Sequence[Path] = ()) -> list[Reference]:
    """The built-in reference sets and the given files; a malformed file is a one-line error."""
    files = [*sorted(BUILT_IN.glob("*.yaml")), *paths]
    return [reference for path in files for reference in _read(Path(path))]


def _read(path: Path) -> list[Reference]:
    if not path.is_file():
        raise BenchError(f"reference file {path} not found: pass an existing .yaml file")
    try:
        values = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise BenchError(f"reference file {path} is not valid UTF-8 YAML: {str(error).splitlines()[0]}") \
            from error
    if not isinstance(values, dict) or set(values) != _SET_KEYS:
        keys = sorted(values) if isinstance(values, dict) else type(values).__name__
        raise BenchError(f"reference file {path} must have exactly the keys {', '.join(sorted(_SET_KEYS))} "
                         f"(found {keys})")
    rows = values["rows"]
    if not isinstance(rows, list) or not rows:
        raise BenchError(f"reference file {path}: rows must be a non-empty list")
    references = []
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, dict) or not {"task", "method", "name", "value"} <= set(row) <= _ROW_KEYS:
            raise BenchError(f"reference file {path}, row {number}: keys are task, method, name, value and "
                             f"optionally std")
        try:
            value, std = float(row["value"]), (None if row.get("std") is None else float(row["std"]))
        except (TypeError, ValueError) as error:
            raise BenchError(f"reference file {path}, row {number}: value and std must be numbers") from error
        references.append(Reference(
            paper=str(values["paper"]), table=str(values["table"]), model=str(values["model"]),
            metric=str(values["metric"]), protocol=str(values["protocol"]), source=str(values["source"]),
            task=str(row["task"]), method=str(row["method"]), name=str(row["name"]), value=value, std=std))
    return references
