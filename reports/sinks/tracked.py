"""A record as an experiment tracker sees it: one run with params (its configuration), metrics (its
figures) and tags (its ids)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from bench.core.records import CellResult
from bench.core.sinks import SinkContext

# the record's ids (tags), its measurements (metrics); every other field is configuration (params)
ID_FIELDS = ("cell_id", "config_id", "selection_id", "status")
METRIC_FIELDS = ("score", "accuracy", "dev_score", "untrained_dev_score", "majority_score", "n_train",
                 "n_dev", "n_eval", "steps", "best_step", "train_samples_per_s", "eval_samples_per_s",
                 "peak_memory_bytes", "trainable_params", "total_params", "wall_seconds", "seconds_start",
                 "seconds_load", "seconds_encode", "seconds_train", "seconds_dev", "seconds_eval")
# held as JSON in the record; a tracker shows their keys one by one
JSON_FIELDS = {"method_config": "method", "train_config": "train", "search": "search"}


@dataclass(frozen=True)
class TrackedRun:
    """One cell as a tracker sees it."""

    name: str
    params: dict[str, str]
    metrics: dict[str, float]
    tags: dict[str, str]
    succeeded: bool


def tracked_run(record: CellResult, context: SinkContext) -> TrackedRun:
    """Split a record into params (configuration), metrics (its figures) and tags (its ids)."""
    values = record.as_dict()
    tags = {name: str(values[name]) for name in ID_FIELDS}
    tags["sweep"] = context.name
    if record.error:
        tags["error"] = record.error
    metrics = {name: float(values[name]) for name in METRIC_FIELDS if values.get(name) is not None}
    params: dict[str, str] = {}
    for name, value in values.items():
        if name in ID_FIELDS or name in METRIC_FIELDS or name == "error" or value in ("", None):
            continue
        if name in JSON_FIELDS:
            prefix = JSON_FIELDS[name]
            params.update({f"{prefix}.{key}": _text(item) for key, item in json.loads(value).items()})
        else:
            params[name] = _text(value)
    return TrackedRun(record.cell_id, params, metrics, tags, record.succeeded)


def _text(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value)
