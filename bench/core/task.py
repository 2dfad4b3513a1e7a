"""A task is a declarative record: where its data lives, its fields, labels, metric, prompt and
official splits. Built-in tasks and user task files are the same record (see tasks/dialect.py)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from dataclasses import dataclass, field
from enum import StrEnum

from bench.core.errors import BenchError
from bench.core.registry import Registry

MASK_SLOT = "[MASK]"
FIELD_REFERENCE = re.compile(r"\{([\w.]+)\}")  # {sentence}, or {target.span1_text} into nested JSON
SPLIT_SLOT = "{split}"


class FileFormat(StrEnum):
    TSV = "tsv"
    CSV = "csv"
    JSONL = "jsonl"


@dataclass(frozen=True)
class DataFile:
    """One split stored as a local file, relative to the data root; `{split}` in the path is
    replaced by the cell's official split."""

    path: str
    format: FileFormat
    column_names: tuple[str, ...] | None = None  # for files without a header row
    rename: tuple[tuple[str, str], ...] = ()  # (column in file, field name of the task)
    encoding: str = "utf-8"
    drop_labels: tuple[str, ...] = ()  # rows with these labels are not examples (OCNLI's "-")
    quoting: str = ""  # "none" (quotes are text) or "minimal" (CSV quoting); "": tsv none, csv minimal


@dataclass(frozen=True)
class HubSource:
    """The same task on the Hugging Face hub, used when no local data root is given."""

    path: str
    name: str | None
    train: str
    eval: str
    dev: str | None = None
    rename: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class TaskSpec:
    """Everything the harness needs to know about a classification task."""

    name: str
    language: str
    text_fields: tuple[str, ...]  # dotted paths reach into nested JSON fields
    labels: tuple[str, ...]
    verbalizer: tuple[str, ...]  # one label word per label, read at [MASK] by prompt methods
    template: str
    train: DataFile | None
    eval: DataFile | None
    dev: DataFile | None = None  # None: a held-out dev set is sampled from train
    label_field: str = "label"
    label_map: tuple[tuple[str, str], ...] = ()  # (value in the file, label name)
    metric: str = "accuracy"  # a registered metric (bench.core.metrics)
    hub: HubSource | None = None
    default_shots: int | None = 100  # None: the whole train split (official few-shot splits)
    splits: tuple[str, ...] = ()  # named official splits; the first is the default
    list_separator: str = " "  # joins list-valued fields into text
    optional_fields: tuple[str, ...] = ()  # text fields that may be empty in a row (others may not)
    version: str = "1"
    description: str = field(default="", compare=False)

    @property
    def definition_digest(self) -> str:
        """A hash of everything in the definition that can change a number (template, label words,
        label map, fields, formats, metric, splits): not the description, not where the files are
        (their content is fingerprinted with the data)."""
        values = dataclasses.asdict(self)
        values.pop("description")
        for name in ("train", "dev", "eval"):
            if values[name]:
                values[name].pop("path")
        return hashlib.sha1(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()[:10]

    def __post_init__(self) -> None:
        from bench.core.metrics import get_metric

        get_metric(self.metric)
        if not self.text_fields or not self.labels:
            raise BenchError(f"task {self.name}: text_fields and labels must not be empty")
        if len(self.labels) != len(self.verbalizer):
            raise BenchError(f"task {self.name}: {len(self.labels)} labels but "
                             f"{len(self.verbalizer)} verbalizer words")
        if len(set(self.labels)) != len(self.labels):
            raise BenchError(f"task {self.name}: labels repeat")
        if self.template.count(MASK_SLOT) != 1:
            raise BenchError(f"task {self.name}: the template needs exactly one {MASK_SLOT} slot")
        unknown = set(FIELD_REFERENCE.findall(self.template)) - set(self.text_fields)
        if unknown:
            raise BenchError(f"task {self.name}: template refers to unknown fields {sorted(unknown)}")
        unknown_labels = {label for _, label in self.label_map} - set(self.labels)
        if unknown_labels:
            raise BenchError(f"task {self.name}: label_map maps to {sorted(unknown_labels)}, "
                             f"which are not labels")
        has_slot = any(SPLIT_SLOT in file.path for file in (self.train, self.dev, self.eval) if file)
        if has_slot != bool(self.splits):
            raise BenchError(f"task {self.name}: data paths with {SPLIT_SLOT} need a list of splits, "
                             f"and splits need {SPLIT_SLOT} in a path")

    @property
    def n_labels(self) -> int:
        return len(self.labels)

    @property
    def default_split(self) -> str | None:
        return self.splits[0] if self.splits else None

    def check_split(self, split: str | None) -> None:
        if self.splits and split not in self.splits:
            raise BenchError(f"task {self.name} has splits {', '.join(self.splits)}; "
                             f"{split!r} is not one of them")


@dataclass(frozen=True)
class Example:
    """One classification example: its text fields in the task's order and a label index."""

    texts: tuple[str, ...]
    label: int


@dataclass(frozen=True)
class TaskData:
    """The examples of one official split of a task; dev is None when it must be sampled from train."""

    train: tuple[Example, ...]
    dev: tuple[Example, ...] | None
    eval: tuple[Example, ...]
    source: str  # where the examples were read: "local:<root>" or "hub:<id>"
    fingerprint: str  # a hash of the content of every file read


def filled_template(task: TaskSpec, texts: tuple[str, ...],
                    slot: str = MASK_SLOT) -> tuple[str, tuple[int, int]]:
    """The template with the text fields filled in and `slot` (a label word, or [MASK] itself) in its
    slot, and the slot's character span. Pieces are joined in order, so a text that happens to
    contain "[MASK]" or "{field}" is never taken for the template's own."""
    values = dict(zip(task.text_fields, texts, strict=True))
    line, span = "", (0, 0)
    for piece in re.split(r"(\{[\w.]+\}|\[MASK\])", task.template):
        field_name = FIELD_REFERENCE.fullmatch(piece)
        if piece == MASK_SLOT:
            span = (len(line), len(line) + len(slot))
        line += values[field_name.group(1)] if field_name else slot if piece == MASK_SLOT else piece
    return line, span


TASKS: Registry[TaskSpec] = Registry("task")


def register_task(spec: TaskSpec) -> TaskSpec:
    """Add a task record to the registry under its own name."""
    return TASKS.add(spec.name, spec)


def get_task(name: str) -> TaskSpec:
    return TASKS.get(name)
