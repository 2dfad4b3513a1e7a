"""User-defined tasks from a YAML or TOML file, registered without writing code."""

from __future__ import annotations

import tomllib
from pathlib import Path

import yaml

from bench.errors import BenchError
from bench.metrics import METRICS
from tasks.spec import FILE_FORMATS, TASKS, DataFile, TaskSpec, register_task

_REQUIRED = ("name", "train", "eval", "text_fields", "labels", "verbalizer", "template")
_OPTIONAL = ("language", "dev", "format", "label_field", "metric", "default_shots",
             "column_names", "description", "version")


def _read_mapping(path: Path) -> dict:
    if not path.is_file():
        raise BenchError(f"task file {path} not found: pass an existing .yaml/.yml/.toml file")
    text = path.read_text(encoding="utf-8")
    try:
        values = tomllib.loads(text) if path.suffix == ".toml" else yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as error:
        first = str(error).splitlines()[0]
        raise BenchError(f"task file {path} is not valid {path.suffix[1:].upper()}: {first}") from error
    if not isinstance(values, dict):
        raise BenchError(f"task file {path} must hold a mapping of task fields at top level")
    return values


def _string_tuple(path: Path, values: dict, key: str) -> tuple[str, ...]:
    value = values[key]
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise BenchError(f"task file {path}: {key} must be a non-empty list")
    return tuple(str(item) for item in value)


def load_task_file(path: Path) -> TaskSpec:
    """Parse, validate and register the task a file describes; returns its record."""
    path = Path(path).expanduser().resolve()
    values = _read_mapping(path)
    missing = [key for key in _REQUIRED if key not in values]
    unknown = sorted(set(values) - set(_REQUIRED) - set(_OPTIONAL))
    if missing or unknown:
        what = f"missing {missing}" if missing else f"unknown keys {unknown}"
        raise BenchError(f"task file {path}: {what}; allowed keys: {sorted(_REQUIRED + _OPTIONAL)}")
    file_format = values.get("format", "tsv")
    if file_format not in FILE_FORMATS:
        raise BenchError(f"task file {path}: format {file_format!r} is not one of {FILE_FORMATS}")
    columns = tuple(values["column_names"]) if values.get("column_names") else None

    def data_file(key: str) -> DataFile | None:
        if not values.get(key):
            return None
        location = Path(str(values[key])).expanduser()
        return DataFile(str(location if location.is_absolute() else path.parent / location),
                        file_format, column_names=columns)

    METRICS.get(str(values.get("metric", "accuracy")))  # unknown metric: one-line error
    if values["name"] in TASKS:
        raise BenchError(f"task file {path}: a task named {values['name']!r} exists; rename it")
    try:
        return register_task(TaskSpec(
            name=str(values["name"]), language=str(values.get("language", "en")),
            description=str(values.get("description", f"user task from {path.name}")),
            text_fields=_string_tuple(path, values, "text_fields"),
            labels=_string_tuple(path, values, "labels"),
            verbalizer=_string_tuple(path, values, "verbalizer"),
            template=str(values["template"]), train=data_file("train"), dev=data_file("dev"),
            eval=data_file("eval"), label_field=str(values.get("label_field", "label")),
            metric=str(values.get("metric", "accuracy")),
            default_shots=values.get("default_shots"), version=str(values.get("version", "1")),
        ))
    except ValueError as error:
        raise BenchError(f"task file {path}: {error}") from error
