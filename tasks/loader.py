"""Reads a task's splits (local files or the hub) through `datasets` and validates every row."""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

from bench.errors import BenchError
from tasks.spec import DataFile, HubSource, TaskSpec

DATA_DIR_ENV = "PETBENCH_DATA_DIR"
_PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = _PROJECT_ROOT.parent / "shared" / "data"


@dataclass(frozen=True)
class Example:
    """One classification example: its text fields in the task's order and a label index."""

    texts: tuple[str, ...]
    label: int


@dataclass(frozen=True)
class TaskData:
    """The examples of a task's splits; dev is None when it must be sampled from train."""

    train: tuple[Example, ...]
    dev: tuple[Example, ...] | None
    eval: tuple[Example, ...]
    source: str


def resolve_data_dir(cli_value: str | None) -> Path | None:
    """--data-dir, else $PETBENCH_DATA_DIR, else ../shared/data beside the checkout, else None (hub)."""
    chosen = cli_value or os.environ.get(DATA_DIR_ENV)
    if chosen:
        path = Path(chosen).expanduser()
        if not path.is_dir():
            raise BenchError(f"data directory {path} does not exist: pass --data-dir or set "
                             f"{DATA_DIR_ENV} to the folder holding glue/, fewclue/, ...")
        return path
    return DEFAULT_DATA_DIR if DEFAULT_DATA_DIR.is_dir() else None


def load_task_data(task: TaskSpec, *, data_dir: Path | None, fewclue_split: str = "0") -> TaskData:
    """All splits of a task as validated examples, from local files when a data dir is known."""
    if data_dir is not None and task.train is not None and task.eval is not None:
        def read(file: DataFile) -> tuple[Example, ...]:
            path = Path(file.path.format(split=fewclue_split))
            return _read_local(task, file, path if path.is_absolute() else data_dir / path)

        dev = read(task.dev) if task.dev else None
        return TaskData(read(task.train), dev, read(task.eval), source=f"local:{data_dir}")
    if task.hub is not None:
        return _read_hub(task, task.hub)
    raise BenchError(f"task {task.name} has no hub copy and no data directory was found: pass "
                     f"--data-dir or set {DATA_DIR_ENV}")


def _read_local(task: TaskSpec, file: DataFile, path: Path) -> tuple[Example, ...]:
    import datasets

    if not path.is_file():
        raise BenchError(f"data file {path} not found for task {task.name}: check --data-dir / "
                         f"{DATA_DIR_ENV} (layout as in shared/README.md)")
    has_header = file.format != "jsonl" and file.column_names is None
    if not _has_data_rows(path, file.encoding, has_header):
        raise BenchError(f"{path}: the split has no examples; point the task at a non-empty file")
    if file.format == "jsonl":
        kwargs: dict[str, object] = {"path": "json"}
    else:
        kwargs = {"path": "csv", "sep": "\t" if file.format == "tsv" else ",",
                  "encoding": file.encoding, "keep_default_na": False, "na_filter": False}
        if file.format == "tsv":
            kwargs["quoting"] = csv.QUOTE_NONE
        if file.column_names:
            kwargs["column_names"] = list(file.column_names)
    try:
        table = datasets.load_dataset(data_files=str(path), split="train", **kwargs)
    except Exception as error:  # the parsers raise many types; the user needs the file name
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise BenchError(f"cannot parse {path} as {file.format}: {type(error).__name__} "
                         f"{first_line}; fix the file or the task's format") from error
    return _to_examples(task, table.to_dict(), rename=dict(file.rename), origin=str(path),
                        drop_labels=file.drop_labels)


def _has_data_rows(path: Path, encoding: str, has_header: bool) -> bool:
    needed = 2 if has_header else 1
    with open(path, encoding=encoding) as lines:
        for line in lines:
            needed -= bool(line.strip())
            if needed == 0:
                return True
    return False


def _read_hub(task: TaskSpec, hub: HubSource) -> TaskData:
    import datasets

    def read(split: str) -> tuple[Example, ...]:
        try:
            table = datasets.load_dataset(hub.path, hub.name, split=split)
        except Exception as error:  # offline, unknown id, ...: all mean "use local files"
            raise BenchError(f"cannot load {hub.path}/{hub.name} split {split} from the hub "
                             f"({type(error).__name__}); pass --data-dir with a local copy") from error
        return _to_examples(task, table.to_dict(), rename=dict(hub.rename),
                            origin=f"hub:{hub.path}/{hub.name}:{split}", drop_labels=())

    dev = read(hub.dev) if hub.dev else None
    return TaskData(read(hub.train), dev, read(hub.eval), source=f"hub:{hub.path}/{hub.name}")


def _to_examples(task: TaskSpec, columns: dict[str, list], *, rename: dict[str, str], origin: str,
                 drop_labels: tuple[str, ...]) -> tuple[Example, ...]:
    columns = {rename.get(name, name): values for name, values in columns.items()}
    for field_name in (*task.text_fields, task.label_field):
        if field_name not in columns:
            raise BenchError(f"{origin}: no field {field_name!r} (fields: {sorted(columns)}); "
                             f"rename the column or fix the task's field names")
    label_index = {label: index for index, label in enumerate(task.labels)}
    examples = []
    for row, raw_label in enumerate(columns[task.label_field], start=1):
        label = str(raw_label).strip()
        if label in drop_labels:
            continue
        if label not in label_index:
            shown = ", ".join(task.labels[:8]) + (", ..." if task.n_labels > 8 else "")
            raise BenchError(f"{origin}: row {row} has label {label!r}, not one of task "
                             f"{task.name}'s labels ({shown}); fix the row or the label list")
        texts = tuple(columns[name][row - 1] for name in task.text_fields)
        if any(not isinstance(text, str) for text in texts):
            raise BenchError(f"{origin}: row {row} lacks text in fields {task.text_fields}; "
                             f"fill the field or drop the row")
        examples.append(Example(texts, label_index[label]))
    if not examples:
        raise BenchError(f"{origin}: the split has no examples; point the task at a non-empty file")
    return tuple(examples)
