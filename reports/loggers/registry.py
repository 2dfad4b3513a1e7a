"""The registry of result loggers (`--log-to`): each takes every cell's record as it arrives and
makes it one tracked run. Built-ins are MLflow and Weights & Biases; a plugin file adds others."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bench.core.errors import BenchError, one_line
from bench.core.records import CellResult
from bench.core.registry import Registry

# the record's ids (tags), its measurements (metrics); every other field is configuration (params)
ID_FIELDS = ("cell_id", "config_id", "selection_id", "status")
METRIC_FIELDS = ("score", "accuracy", "dev_score", "untrained_dev_score", "majority_score", "n_train",
                 "n_dev", "n_eval", "steps", "best_step", "train_samples_per_s", "eval_samples_per_s",
                 "peak_memory_bytes", "trainable_params", "total_params", "wall_seconds", "seconds_start",
                 "seconds_load", "seconds_encode", "seconds_train", "seconds_dev", "seconds_eval")
# held as JSON in the record; a tracker shows their keys one by one
JSON_FIELDS = {"method_config": "method", "train_config": "train", "search": "search"}


@dataclass(frozen=True)
class SweepContext:
    """What a logger needs about the sweep: the output folder (local stores go under it) and the
    name its runs are grouped by."""

    out_dir: Path
    name: str

    @classmethod
    def for_out(cls, out_dir: Path) -> SweepContext:
        return cls(Path(out_dir).resolve(), Path(out_dir).resolve().name)


@dataclass(frozen=True)
class TrackedRun:
    """One cell as a tracker sees it."""

    name: str
    params: dict[str, str]
    metrics: dict[str, float]
    tags: dict[str, str]
    succeeded: bool


class ResultLogger(Protocol):
    def log(self, run: TrackedRun) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class LoggerSpec:
    """A registered logger: how to open it, and the library it needs (with the extra to install)."""

    name: str
    open: Callable[[SweepContext], ResultLogger]
    requires: str | None = None
    extra: str | None = None

    def require_available(self) -> None:
        if self.requires and importlib.util.find_spec(self.requires) is None:
            extra = self.extra or self.requires
            raise BenchError(f"--log-to {self.name} needs the {self.requires} library: "
                             f"pip install 'petbench[{extra}]'")


LOGGERS: Registry[LoggerSpec] = Registry("result logger")


def register_logger(name: str, *, requires: str | None = None, extra: str | None = None):
    """Decorator: register a class (or function) taking a SweepContext and returning a ResultLogger."""

    def register(opener: Callable[[SweepContext], ResultLogger]):
        LOGGERS.add(name, LoggerSpec(name, opener, requires, extra))
        return opener

    return register


def logger_names(value: str | None) -> tuple[str, ...]:
    """--log-to's names, each registered and with its library installed (checked before any cell)."""
    names = tuple(dict.fromkeys(part.strip() for part in (value or "").split(",") if part.strip()))
    for name in names:
        LOGGERS.get(name).require_available()
    return names


def open_loggers(names: Sequence[str], context: SweepContext) -> list[RecordListener]:
    """Open each logger; one that cannot start (a bad tracking URI) fails before any cell trains."""
    opened = []
    for name in names:
        try:
            opened.append(RecordListener(f"--log-to {name}", LOGGERS.get(name).open(context), context))
        except BenchError:
            raise
        except Exception as error:  # noqa: BLE001  (a tracker's own failure, shown in one line)
            raise BenchError(f"--log-to {name} could not start ({one_line(error)})") from error
    return opened


def close_loggers(listeners: Sequence[RecordListener]) -> None:
    """Close every logger; one that fails to close costs a warning, not the others."""
    for listener in listeners:
        try:
            listener.logger.close()
        except Exception as error:  # noqa: BLE001
            print(f"warning: {listener.name} did not close cleanly ({one_line(error)})", file=sys.stderr)


def tracked_run(record: CellResult, context: SweepContext) -> TrackedRun:
    """Split a record into params (configuration), metrics (its figures) and tags (its ids)."""
    values = record.as_dict()
    tags = {name: str(values[name]) for name in ID_FIELDS}
    tags["sweep"] = context.name
    if record.error:
        tags["error"] = record.error
    metrics = {name: float(values[name]) for name in METRIC_FIELDS if values[name] is not None}
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



@dataclass(frozen=True)
class RecordListener:
    """What the sweep calls with each record: the logger's view of it, logged."""

    name: str
    logger: ResultLogger
    context: SweepContext

    def __call__(self, record: CellResult) -> None:
        self.logger.log(tracked_run(record, self.context))
