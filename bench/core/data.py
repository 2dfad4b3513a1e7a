"""Reads a task's splits (local files or the hub) through `datasets` and validates every row."""

from __future__ import annotations

import csv
import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

from bench.core.errors import BenchError
from bench.core.task import SPLIT_SLOT, DataFile, Example, HubSource, TaskData, TaskSpec

DATA_DIR_ENV = "PETBENCH_DATA_DIR"
_PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA_DIR = _PROJECT_ROOT.parent / "shared" / "data"


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


def load_task_data(task: TaskSpec, *, data_dir: Path | None, split: str | None = None) -> TaskData:
    """One official split of a task (its default when None) as validated examples, from local files
    when a data dir is known, else from the hub."""
    split = split if split is not None else task.default_split
    task.check_split(split)
    files = [file for file in (task.train, task.dev, task.eval) if file is not None]
    located = data_dir is not None or all(Path(file.path).is_absolute() for file in files)
    if task.train is not None and task.eval is not None and located:
        paths = [local_path(file, data_dir, split) for file in files]
        for path in paths:  # every missing file is reported before any file is parsed
            _require_file(task, path)
        examples = [_read_local(task, file, path) for file, path in zip(files, paths, strict=True)]
        dev = examples[1] if task.dev is not None else None
        return TaskData(examples[0], dev, examples[-1], source=f"local:{data_dir or paths[0].parent}",
                        fingerprint=files_fingerprint(paths))
    if task.hub is not None:
        return _read_hub(task, task.hub)
    raise BenchError(f"task {task.name} has no hub copy and no data directory was found: pass "
                     f"--data-dir or set {DATA_DIR_ENV}")


def load_held_out(task: TaskSpec, *, data_dir: Path | None) -> tuple[Example, ...]:
    """What no unlabelled text may repeat: the eval examples and the dev examples of every official
    split whose files are present (a checkpoint trained once may serve any split)."""
    data = load_task_data(task, data_dir=data_dir)
    examples = [*(data.dev or ()), *data.eval]
    if not data.source.startswith("local:"):
        return tuple(examples)
    files = [file for file in (task.dev, task.eval) if file is not None]
    seen = {local_path(file, data_dir, task.default_split) for file in files}
    for split in task.splits[1:]:
        for file in files:
            path = local_path(file, data_dir, split)
            if path not in seen and path.is_file():
                seen.add(path)
                examples += _read_local(task, file, path)
    return tuple(examples)


def local_path(file: DataFile, data_dir: Path | None, split: str | None) -> Path:
    path = Path(file.path.replace(SPLIT_SLOT, split or ""))
    return path if path.is_absolute() or data_dir is None else data_dir / path


def files_fingerprint(paths: Sequence[Path]) -> str:
    """A short hash of the files' contents, in order: the same data gives the same fingerprint."""
    digest = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


def quiet_datasets():
    """datasets without its progress bars and info logs (PETBench shows its own progress)."""
    import datasets

    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()
    return datasets


def _require_file(task: TaskSpec, path: Path) -> None:
    if not path.is_file():
        raise BenchError(f"data file {path} not found for task {task.name}: check --data-dir / "
                         f"{DATA_DIR_ENV} (layout as in shared/README.md)")


def _read_local(task: TaskSpec, file: DataFile, path: Path) -> tuple[Example, ...]:
    datasets = quiet_datasets()

    has_header = file.format != "jsonl" and file.column_names is None
    if not _has_data_rows(path, file.encoding, has_header):
        raise BenchError(f"{path}: the split has no examples; point the task at a non-empty file")
    if file.format == "jsonl":
        kwargs: dict[str, object] = {"path": "json"}
    else:
        kwargs = {"path": "csv", "sep": "\t" if file.format == "tsv" else ",",
                  "encoding": file.encoding, "keep_default_na": False, "na_filter": False}
        quoting = file.quoting or ("none" if file.format == "tsv" else "minimal")
        if quoting not in ("none", "minimal"):
            raise BenchError(f"{path}: quoting {quoting!r} is not none or minimal; fix the task's quoting")
        kwargs["quoting"] = csv.QUOTE_NONE if quoting == "none" else csv.QUOTE_MINIMAL
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
    """Whether the file holds a data row; every byte is decoded here, so a wrong encoding is one line."""
    needed = 2 if has_header else 1
    try:
        with open(path, encoding=encoding) as lines:
            for line in lines:
                needed = max(0, needed - bool(line.strip()))
    except LookupError as error:
        raise BenchError(f"{path}: unknown encoding {encoding!r}; set the task's encoding to one Python "
                         f"knows (utf-8, gb18030, ...)") from error
    except UnicodeDecodeError as error:
        raise BenchError(f"{path} is not {encoding} (byte {error.start} cannot be decoded); convert the file "
                         f"or set the task's encoding") from error
    return needed == 0


def _read_hub(task: TaskSpec, hub: HubSource) -> TaskData:
    datasets = quiet_datasets()

    fingerprints = []

    def read(split: str) -> tuple[Example, ...]:
        try:
            table = datasets.load_dataset(hub.path, hub.name, split=split)
        except Exception as error:  # offline, unknown id, ...: all mean "use local files"
            raise BenchError(f"cannot load {hub.path}/{hub.name} split {split} from the hub "
                             f"({type(error).__name__}); pass --data-dir with a local copy") from error
        fingerprints.append(table._fingerprint)
        return _to_examples(task, table.to_dict(), rename=dict(hub.rename),
                            origin=f"hub:{hub.path}/{hub.name}:{split}", drop_labels=())

    dev = read(hub.dev) if hub.dev else None
    train, evaluation = read(hub.train), read(hub.eval)
    fingerprint = hashlib.sha256("".join(fingerprints).encode()).hexdigest()[:16]
    return TaskData(train, dev, evaluation, source=f"hub:{hub.path}/{hub.name}", fingerprint=fingerprint)


def _to_examples(task: TaskSpec, columns: dict[str, list], *, rename: dict[str, str], origin: str,
                 drop_labels: tuple[str, ...]) -> tuple[Example, ...]:
    columns = {rename.get(name, name): values for name, values in columns.items()}
    for field_name in {*(name.split(".")[0] for name in task.text_fields), task.label_field}:
        if field_name not in columns:
            raise BenchError(f"{origin}: no field {field_name!r} (fields: {sorted(columns)}); "
                             f"rename the column or fix the task's field names")
    label_index = {label: index for index, label in enumerate(task.labels)}
    label_map = dict(task.label_map)
    examples = []
    for row, raw_label in enumerate(columns[task.label_field], start=1):
        label = str(raw_label).strip()
        if label in drop_labels:
            continue
        label = label_map.get(label, label)
        if label not in label_index:
            shown = ", ".join(task.labels[:8]) + (", ..." if task.n_labels > 8 else "")
            raise BenchError(f"{origin}: row {row} has label {label!r}, not one of task "
                             f"{task.name}'s labels ({shown}); fix the row or the label list")
        texts = tuple(_text(task, columns, name, row, origin) for name in task.text_fields)
        examples.append(Example(texts, label_index[label]))
    if not examples:
        raise BenchError(f"{origin}: the split has no examples; point the task at a non-empty file")
    return tuple(examples)


def _text(task: TaskSpec, columns: dict[str, list], name: str, row: int, origin: str) -> str:
    """A text field of a row: a dotted name reaches into nested JSON, a list is joined."""
    head, *keys = name.split(".")
    value = columns[head][row - 1]
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        value = task.list_separator.join(value)
    if not isinstance(value, str):
        raise BenchError(f"{origin}: row {row} lacks text in field {name!r}; fill the field or drop the row")
    if not value.strip() and name not in task.optional_fields:
        raise BenchError(f"{origin}: row {row} has an empty {name!r}; fill it, drop the row, or list the "
                         f"field under optional_fields in the task")
    return value
