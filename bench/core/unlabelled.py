"""Reads unlabelled texts for a task: FewCLUE's unlabeled.json (JSON lines holding the task's own text
fields) or a plain text file (one text a line; a pair task's fields separated by tabs). What is read
passes the leak guard (bench.core.leaks) before it trains."""

from __future__ import annotations

import json
from pathlib import Path

from bench.core.errors import BenchError
from bench.core.leaks import Texts
from bench.core.task import TaskSpec


def read_unlabelled(path: Path, task: TaskSpec) -> list[Texts]:
    """Every row's texts, in file order; JSON lines when the first line is an object."""
    if not path.is_file():
        raise BenchError(f"unlabelled file {path} not found: pass FewCLUE's unlabeled.json or a text file")
    try:
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except UnicodeDecodeError as error:
        raise BenchError(f"{path} is not UTF-8 (byte {error.start}); convert the file") from error
    if not lines:
        raise BenchError(f"{path} holds no texts: pass a file with one text a line")
    if lines[0].lstrip().startswith("{"):
        return [_json_row(task, line, number, path) for number, line in enumerate(lines, start=1)]
    return [_text_row(task, line, number, path) for number, line in enumerate(lines, start=1)]


def _json_row(task: TaskSpec, line: str, number: int, path: Path) -> Texts:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as error:
        raise BenchError(f"{path}: line {number} is not JSON ({error.msg}); fix the line") from error
    texts = []
    for name in task.text_fields:
        value = row
        for key in name.split("."):
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, list):
            value = task.list_separator.join(str(item) for item in value)
        if not isinstance(value, str) or not (value.strip() or name in task.optional_fields):
            raise BenchError(f"{path}: line {number} has no text in field {name!r} (task {task.name} reads "
                             f"{', '.join(task.text_fields)}); fix the row or pick the task's file")
        texts.append(value)
    return tuple(texts)


def _text_row(task: TaskSpec, line: str, number: int, path: Path) -> Texts:
    fields = tuple(line.split("\t")) if len(task.text_fields) > 1 else (line.strip(),)
    if len(fields) != len(task.text_fields):
        raise BenchError(f"{path}: line {number} has {len(fields)} tab-separated fields, task {task.name} "
                         f"needs {len(task.text_fields)} ({', '.join(task.text_fields)})")
    return tuple(field.strip() for field in fields)
