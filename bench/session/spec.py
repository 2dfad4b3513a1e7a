"""A run as plain data: what a notebook or the command line asks for, before anything is resolved.
Every field is a name, a number or text, so a spec is built and checked without torch; `resolve_run`
turns it into a grid of cells. Fields left None take the protocol's value when the spec names one,
else the default."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

DEFAULT_OUT = "runs/default"
DEFAULT_TASK = "sst2"
DEFAULT_EXECUTOR = "local"
# with no arguments at all the command line runs the embedded default, every method for 10 epochs (some
# methods default to more elsewhere) so that it stays within minutes on 2 CPU cores
EMBEDDED_DEFAULT = {"epochs": "10", "executor_options": {"jobs": "auto"}}


def comma_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _names(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    items = comma_list(value) if isinstance(value, str) else [str(item).strip() for item in value]
    return tuple(items)


def _pairs(value: Any) -> tuple[tuple[str, str], ...]:
    items = value.items() if isinstance(value, Mapping) else value
    return tuple((str(name), value if isinstance(value, str) else str(value)) for name, value in items)


@dataclass(frozen=True)
class RunSpec:
    """What to run. Names and lists may be given as tuples or comma-separated text; `train` and
    `executor_options` as mappings. `run(spec)` runs it, `dry_run(spec)` plans it."""

    tasks: tuple[str, ...] | None = field(default=None, metadata={
        "help": f"the tasks that run (default: the task files' tasks, else {DEFAULT_TASK})"})
    task_files: tuple[str, ...] = field(default=(), metadata={
        "help": "YAML/TOML task definitions to register"})
    methods: tuple[str, ...] | None = field(default=None, metadata={
        "help": "the methods, or None for every registered one whose extra is installed"})
    model: str | None = field(default=None, metadata={"help": "embedded name, local folder or hub id"})
    seeds: tuple[str, ...] | None = field(default=None, metadata={"help": "seeds (default: 42)"})
    shots: tuple[str, ...] | None = field(default=None, metadata={
        "help": "training sizes, each a grid axis value: a number, 'full' or 'default' (the task's own)"})
    split: str | None = field(default=None, metadata={"help": "official splits: default, all or names"})
    protocol: str | None = field(default=None, metadata={"help": "a published protocol's name or file"})
    references: tuple[str, ...] = field(default=(), metadata={"help": "files of published results"})
    knobs: tuple[str, ...] = field(default=(), metadata={"help": "METHOD.KNOB=VALUE settings"})
    lr: str | None = field(default=None, metadata={"help": "learning rate of every method"})
    epochs: str | None = field(default=None, metadata={"help": "epochs of every method"})
    search: tuple[str, ...] = field(default=(), metadata={
        "help": "model selection axes, KNOB=V1,V2, or the name of a search space (default, lora_family)"})
    selection: str | None = field(default=None, metadata={
        "help": "how a search selects: fixed (the dev set), multisplit:K:RATIO, cv:K, mdl or none"})
    train: tuple[tuple[str, str], ...] = field(default=(), metadata={
        "help": "loop settings (TrainConfig fields) and their values"})
    plugins: tuple[str, ...] = field(default=(), metadata={"help": ".py plugins or task files"})
    data_dir: str | None = field(default=None, metadata={"help": "root of the datasets"})
    out: str = field(default=DEFAULT_OUT, metadata={"help": "output folder; re-running resumes"})
    rerun: bool = field(default=False, metadata={"help": "train every cell again"})
    device: str = field(default="auto", metadata={"help": "auto, cpu or cuda"})
    precision: str = field(default="auto", metadata={"help": "auto, fp32 or bf16"})
    executor: str = field(default=DEFAULT_EXECUTOR, metadata={"help": "a registered executor"})
    executor_options: tuple[tuple[str, str], ...] = field(default=(), metadata={
        "help": "the executor's own options (local: jobs; ray: ray_address, gpus_per_cell, retries)"})
    cpus_per_cell: int | None = field(default=None, metadata={"help": "CPU threads per cell"})
    log_to: tuple[str, ...] = field(default=(), metadata={"help": "result sinks besides the report"})
    log_samples: bool | None = field(default=None, metadata={
        "help": "write each cell's eval examples (None: wherever the executor's cells can write into out, "
                "as the report's rankings read them)"})
    command: str = field(default="", metadata={"help": "the command line, for report.html's header"})

    def __post_init__(self) -> None:
        for name in ("tasks", "methods", "seeds", "shots"):  # comma-separated text is a list
            object.__setattr__(self, name, _names(getattr(self, name)))
        object.__setattr__(self, "log_to", _names(self.log_to) or ())
        for name in ("task_files", "references", "knobs", "search", "plugins"):  # one text is one entry
            value = getattr(self, name)
            object.__setattr__(self, name, (value,) if isinstance(value, str) else tuple(value or ()))
        object.__setattr__(self, "train", _pairs(self.train))
        object.__setattr__(self, "executor_options", _pairs(self.executor_options))

    def replace(self, **changes: Any) -> RunSpec:
        return dataclasses.replace(self, **changes)
