"""Protocol files (YAML, one protocol per document), read with the task files' strict loader:
unknown keys, keys given twice and values of the wrong shape are one-line errors naming the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.core.errors import BenchError
from bench.core.protocol import ProtocolSpec, register_protocol
from bench.core.selection import FIXED_DEV, SelectionProtocol
from tasks.dialect import parse_documents

REQUIRED = ("name", "description", "reference", "tasks")
BEST_DEV = "best_dev"  # the key's value before protocols: the fixed dev set
OPTIONAL = ("methods", "model", "split", "seeds", "shots", "train", "search", "set", "selection")


def load_protocol_file(path: Path, *, register: bool = True) -> list[ProtocolSpec]:
    if not path.is_file():
        raise BenchError(f"protocol file {path} not found: pass an existing .yaml file or a protocol name "
                         f"(`run_bench.py list --protocols`)")
    documents = parse_documents(path, "protocol file")
    if not documents:
        raise BenchError(f"protocol file {path} defines no protocol")
    specs = [parse_protocol(document, origin=path) for document in documents]
    if register:
        for spec in specs:
            register_protocol(spec)
    return specs


def parse_protocol(values: Any, *, origin: Path) -> ProtocolSpec:
    if not isinstance(values, dict):
        raise BenchError(f"protocol file {origin} must hold mappings of protocol keys "
                         f"(found {type(values).__name__})")
    where = f"protocol {values.get('name', '?')} in {origin}"
    missing = [key for key in REQUIRED if key not in values]
    unknown = sorted(set(values) - set(REQUIRED) - set(OPTIONAL))
    if missing or unknown:
        problem = f"lacks {', '.join(missing)}" if missing else f"has unknown key(s) {', '.join(unknown)}"
        raise BenchError(f"{where} {problem}: its keys are {', '.join(REQUIRED)} and optionally "
                         f"{', '.join(OPTIONAL)}")
    selection = _selection(values["selection"], where) if "selection" in values else FIXED_DEV
    return ProtocolSpec(
        name=_text(values, "name", where), description=_text(values, "description", where),
        reference=_text(values, "reference", where), tasks=_names(values, "tasks", where),
        methods=_names(values, "methods", where) if "methods" in values else (),
        model=_text(values, "model", where) if "model" in values else None,
        split=_scalar(values["split"], "split", where) if "split" in values else None,
        seeds=tuple(_seed(seed, where) for seed in _list(values, "seeds", where)),
        shots=_scalar(values["shots"], "shots", where) if "shots" in values else None,
        train=tuple((key, _scalar(value, f"train.{key}", where))
                    for key, value in _mapping(values, "train", where).items()),
        search=tuple((axis, tuple(_scalar(value, f"search.{axis}", where)
                                  for value in _sequence(raw, f"search.{axis}", where)))
                     for axis, raw in _mapping(values, "search", where).items()),
        knobs=tuple((f"{method}.{knob}", _scalar(value, f"set.{method}.{knob}", where))
                    for method, settings in _mapping(values, "set", where).items()
                    for knob, value in _as_mapping(settings, f"set.{method}", where).items()),
        selection=selection, origin=str(origin))


def _selection(value: Any, where: str) -> SelectionProtocol:
    """The `selection` key: a protocol's text (`cv:4`, `multisplit:4:0.5`, `mdl`, `fixed`, `none`);
    `best_dev`, its earlier spelling, is the fixed dev set."""
    text = _scalar(value, "selection", where)
    if text == BEST_DEV:
        return FIXED_DEV
    try:
        return SelectionProtocol.parse(text)
    except BenchError as error:
        raise BenchError(f"{where}: {error} (or {BEST_DEV}, the fixed dev set)") from error


def _text(values: dict, key: str, where: str) -> str:
    value = values[key]
    if not isinstance(value, str) or not value.strip():
        raise BenchError(f"{where}: {key} must be a non-empty string")
    return value.strip()


def _scalar(value: Any, key: str, where: str) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (str, int, float)):
        return str(value)
    raise BenchError(f"{where}: {key} must be a single value (found {type(value).__name__})")


def _sequence(value: Any, key: str, where: str) -> list:
    if not isinstance(value, list) or not value:
        raise BenchError(f"{where}: {key} must be a non-empty list")
    return value


def _list(values: dict, key: str, where: str) -> list:
    return _sequence(values[key], key, where) if key in values else []


def _names(values: dict, key: str, where: str) -> tuple[str, ...]:
    return tuple(_scalar(name, key, where) for name in _sequence(values[key], key, where))


def _seed(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BenchError(f"{where}: seeds must be non-negative integers (found {value!r})")
    return value


def _as_mapping(value: Any, key: str, where: str) -> dict:
    if not isinstance(value, dict):
        raise BenchError(f"{where}: {key} must be a mapping of names to values")
    return value


def _mapping(values: dict, key: str, where: str) -> dict:
    return _as_mapping(values[key], key, where) if key in values else {}
