"""A task is a declarative record: where its data lives, its fields, labels, metric and prompt."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bench.registry import Registry

MASK_SLOT = "[MASK]"
_FIELD_REF = re.compile(r"\{(\w+)\}")
FILE_FORMATS = ("tsv", "csv", "jsonl")


@dataclass(frozen=True)
class DataFile:
    """One split stored as a local file, relative to the data root."""

    path: str
    format: str
    column_names: tuple[str, ...] | None = None  # for files without a header row
    rename: tuple[tuple[str, str], ...] = ()  # (column in file, field name of the task)
    encoding: str = "utf-8"
    drop_labels: tuple[str, ...] = ()  # rows with these labels are not examples (OCNLI's "-")

    def __post_init__(self) -> None:
        if self.format not in FILE_FORMATS:
            raise ValueError(f"file format {self.format!r} is not one of {FILE_FORMATS}")


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
    text_fields: tuple[str, ...]
    labels: tuple[str, ...]
    verbalizer: tuple[str, ...]
    template: str
    train: DataFile | None
    eval: DataFile | None
    dev: DataFile | None = None  # None: a held-out dev set is sampled from train
    label_field: str = "label"
    metric: str = "accuracy"
    extra_metrics: tuple[str, ...] = ()
    hub: HubSource | None = None
    default_shots: int | None = 100  # None: the whole train split (official few-shot splits)
    fewclue_splits: bool = False  # paths hold "{split}": 0..4 or few_all
    version: str = "1"
    description: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if len(self.labels) != len(self.verbalizer):
            raise ValueError(f"task {self.name}: {len(self.labels)} labels but "
                             f"{len(self.verbalizer)} verbalizer words")
        if len(set(self.labels)) != len(self.labels):
            raise ValueError(f"task {self.name}: labels repeat")
        if self.template.count(MASK_SLOT) != 1:
            raise ValueError(f"task {self.name}: the template needs exactly one {MASK_SLOT} slot")
        unknown = set(_FIELD_REF.findall(self.template)) - set(self.text_fields)
        if unknown:
            raise ValueError(f"task {self.name}: template refers to unknown fields {sorted(unknown)}")

    @property
    def n_labels(self) -> int:
        return len(self.labels)


TASKS: Registry[TaskSpec] = Registry("task")


def register_task(spec: TaskSpec) -> TaskSpec:
    """Add a task record to the registry under its own name."""
    return TASKS.add(spec.name, spec)


def get_task(name: str) -> TaskSpec:
    return TASKS.get(name)
