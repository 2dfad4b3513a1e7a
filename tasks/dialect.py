"""The task-file dialect (YAML or TOML): built-in tasks and users' tasks are written in it alike.

A YAML file may hold several tasks as documents (`---`); a document holding only `defaults:` sets
keys for the documents after it. Data paths are relative to the data root (`paths: data_root`, the
built-ins) or to the task file's folder (`paths: file`, the default for users' files).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import yaml

from bench.core.errors import BenchError
from bench.core.metrics import METRICS
from bench.core.task import DataFile, FileFormat, HubSource, TaskSpec

REQUIRED = ("name", "train", "eval", "text_fields", "labels", "verbalizer", "template")
OPTIONAL = ("description", "language", "version", "dev", "format", "column_names", "rename", "encoding",
            "drop_labels", "label_field", "label_map", "metric", "default_shots", "splits", "list_separator",
            "hub", "paths", "optional_fields", "quoting")
_HUB_KEYS = ("path", "name", "train", "eval", "dev", "rename")


class UniqueKeyLoader(yaml.SafeLoader):
    """yaml's safe loader, refusing a key given twice in one mapping (YAML keeps the last silently,
    which would pull labels and verbalizer apart)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                message = f"the key {key!r} is given twice (line {key_node.start_mark.line + 1}): keep one"
                raise yaml.constructor.ConstructorError(None, None, message, key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def parse_documents(path: Path, what: str) -> list[Any]:
    """The documents of a UTF-8 YAML (or .toml) file, keys given twice refused; errors name `what`."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise BenchError(f"{what} {path} is not UTF-8 (byte {error.start}); save it as UTF-8") from error
    try:
        documents = ([tomllib.loads(text)] if path.suffix == ".toml"
                     else list(yaml.load_all(text, Loader=UniqueKeyLoader)))  # noqa: S506 (a safe loader)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as error:
        first = str(error).splitlines()[0]
        raise BenchError(f"{what} {path} is not valid {path.suffix[1:].upper()}: {first}") from error
    return [document for document in documents if document is not None]


def read_documents(path: Path) -> list[dict[str, Any]]:
    """The task mappings a file holds, with any `defaults` document merged under the later ones."""
    if not path.is_file():
        raise BenchError(f"task file {path} not found: pass an existing .yaml/.yml/.toml file")
    tasks, defaults = [], {}
    for document in parse_documents(path, "task file"):
        if not isinstance(document, dict):
            found = type(document).__name__
            raise BenchError(f"task file {path} must hold mappings of task keys (found {found})")
        if set(document) == {"defaults"}:
            defaults = {**defaults, **document["defaults"]}
        else:
            tasks.append({**defaults, **document})
    if not tasks:
        raise BenchError(f"task file {path} defines no task")
    return tasks


def parse_task(values: dict[str, Any], *, origin: Path) -> TaskSpec:
    """A TaskSpec from one task mapping; every problem is a one-line error naming the file and key."""
    where = f"task file {origin}" + (f" (task {values['name']})" if "name" in values else "")
    missing = [key for key in REQUIRED if key not in values]
    unknown = sorted(set(values) - set(REQUIRED) - set(OPTIONAL))
    if missing or unknown:
        what = f"missing {missing}" if missing else f"unknown keys {unknown}"
        raise BenchError(f"{where}: {what}; allowed keys: {sorted(REQUIRED + OPTIONAL)}")
    root = _paths_root(values, origin, where)
    try:
        file_format = FileFormat(values.get("format", "tsv"))
    except ValueError as error:
        raise BenchError(f"{where}: {error}; formats: {[f.value for f in FileFormat]}") from error
    metric = str(values.get("metric", "accuracy"))
    if metric not in METRICS:
        raise BenchError(f"{where}: {metric!r} is not a registered metric; metrics: {METRICS.names()} (a "
                         f"plugin adds one with bench.core.metrics.register_metric)")

    def data_file(key: str) -> DataFile | None:
        if not values.get(key):
            return None
        location = Path(str(values[key])).expanduser()
        path = location if location.is_absolute() or root is None else root / location
        return DataFile(str(path), file_format, column_names=_optional_strings(values, "column_names", where),
                        rename=_pairs(values, "rename", where), encoding=str(values.get("encoding", "utf-8")),
                        drop_labels=_strings(values, "drop_labels", where, required=False),
                        quoting=str(values.get("quoting", "")))

    return TaskSpec(
        name=str(values["name"]), language=str(values.get("language", "en")),
        text_fields=_strings(values, "text_fields", where), labels=_strings(values, "labels", where),
        verbalizer=_strings(values, "verbalizer", where), template=str(values["template"]),
        train=data_file("train"), dev=data_file("dev"), eval=data_file("eval"),
        label_field=str(values.get("label_field", "label")), label_map=_pairs(values, "label_map", where),
        metric=metric, hub=_hub(values, where), default_shots=_shots(values, where),
        splits=_strings(values, "splits", where, required=False),
        list_separator=str(values.get("list_separator", " ")), version=str(values.get("version", "1")),
        optional_fields=_strings(values, "optional_fields", where, required=False),
        description=str(values.get("description", f"user task from {origin.name}")),
    )


def _paths_root(values: dict[str, Any], origin: Path, where: str) -> Path | None:
    choice = values.get("paths", "file")
    if choice not in ("file", "data_root"):
        raise BenchError(f"{where}: paths must be 'file' or 'data_root', not {choice!r}")
    return origin.parent if choice == "file" else None


def _strings(values: dict[str, Any], key: str, where: str, *, required: bool = True) -> tuple[str, ...]:
    value = values.get(key, [] if not required else None)
    if isinstance(value, str | int):
        value = [value]
    if not isinstance(value, list) or (required and not value):
        raise BenchError(f"{where}: {key} must be a non-empty list")
    booleans = [item for item in value if isinstance(item, bool)]  # YAML 1.1 reads yes/no/on/off so
    if booleans:
        raise BenchError(f"{where}: {key} has a boolean {booleans[0]}: "
                         f"quote words such as yes / no / on / off (\"yes\")")
    return tuple(str(item) for item in value)


def _optional_strings(values: dict[str, Any], key: str, where: str) -> tuple[str, ...] | None:
    return _strings(values, key, where) if values.get(key) else None


def _pairs(values: dict[str, Any], key: str, where: str) -> tuple[tuple[str, str], ...]:
    value = values.get(key) or {}
    if not isinstance(value, dict):
        raise BenchError(f"{where}: {key} must be a mapping (value in the file: name)")
    return tuple((str(source), str(target)) for source, target in value.items())


def _shots(values: dict[str, Any], where: str) -> int | None:
    shots = values.get("default_shots", 100)
    if shots is not None and (not isinstance(shots, int) or isinstance(shots, bool) or shots < 1):
        raise BenchError(f"{where}: default_shots must be a positive number or null (the whole train split)")
    return shots


def _hub(values: dict[str, Any], where: str) -> HubSource | None:
    hub = values.get("hub")
    if hub is None:
        return None
    if not isinstance(hub, dict) or not {"path", "train", "eval"} <= set(hub) or set(hub) - set(_HUB_KEYS):
        raise BenchError(f"{where}: hub needs path, train and eval (and may have {', '.join(_HUB_KEYS[3:])})")
    return HubSource(str(hub["path"]), hub.get("name"), str(hub["train"]), str(hub["eval"]), hub.get("dev"),
                     _pairs(hub, "rename", where))


def load_task_file(path: Path, *, register: bool = True) -> list[TaskSpec]:
    """Parse and validate every task a file describes; register them unless asked not to."""
    from bench.core.task import TASKS, register_task

    path = Path(path).expanduser().resolve()
    specs = [parse_task(values, origin=path) for values in read_documents(path)]
    if register:
        for spec in specs:
            if spec.name not in TASKS:
                register_task(spec)
            elif TASKS.get(spec.name) != spec:  # the same definition loaded again is no conflict
                raise BenchError(f"task file {path}: a task named {spec.name!r} exists already; rename it")
    return specs
