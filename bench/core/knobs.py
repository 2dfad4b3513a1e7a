"""Knobs: config dataclass fields whose help, range and type live in the field itself, so that
validation, `--set` parsing, `--help`, `list --method` and the README are generated from one place."""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import types
import typing
from dataclasses import dataclass
from typing import Any

from bench.core.errors import BenchError


def knob(default: Any, help: str, *, at_least: float | None = None, above: float | None = None,
         at_most: float | None = None, identity: bool = True) -> Any:
    """A dataclass field with its help text and its allowed range (inclusive / exclusive bounds).
    identity=False marks a switch that a test shows to train bit-identical weights with dropout on (how
    often the loss is read): it is left out of cell ids, so it neither splits report rows nor forces
    re-runs. A switch that can move a number at all (a kernel's rounding, dropout's draws) stays in."""
    return dataclasses.field(default=default, metadata={"help": help, "at_least": at_least, "above": above,
                                                        "at_most": at_most, "identity": identity})


def identity_fields(config_type: type, *, identity: bool = True) -> list[str]:
    """The knobs that define what a run computes (all but the result-neutral switches); with
    identity=False, the result-neutral switches."""
    return [field.name for field in dataclasses.fields(config_type)
            if field.metadata.get("identity", True) == identity]


@dataclass(frozen=True)
class KnobInfo:
    name: str
    type_name: str
    default: Any
    help: str
    choices: tuple[str, ...] = ()

    @property
    def shown_default(self) -> str:
        return show_value(self.default)


def show_value(value: Any) -> str:
    """A knob value as a user writes it: enums by value, tuples as JSON lists, booleans lower-case."""
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple):
        return json.dumps(jsonable(value))
    return str(value)


def jsonable(value: Any) -> Any:
    """A knob value in the JSON form records store: enums by value, tuples as lists."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple):
        return [jsonable(item) for item in value]
    return value


def knob_types(config_type: type) -> dict[str, Any]:
    return typing.get_type_hints(config_type)


def describe_knobs(config_type: type) -> list[KnobInfo]:
    """Every knob of a config dataclass with its type, default, help and choices."""
    hints = knob_types(config_type)
    infos = []
    for field in dataclasses.fields(config_type):
        kind = _concrete(hints[field.name])
        choices = tuple(member.value for member in kind) if _is_enum(kind) else ()
        infos.append(KnobInfo(field.name, _type_name(hints[field.name]), field.default,
                              field.metadata.get("help", ""), choices))
    return infos


_BOUNDS = (("at_least", lambda value, bound: value >= bound, ">="),
           ("above", lambda value, bound: value > bound, ">"),
           ("at_most", lambda value, bound: value <= bound, "<="))


def check_range(field: dataclasses.Field, value: Any, label: str) -> None:
    """Raise a one-line error if a numeric knob value breaks its field's declared bounds."""
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return
    if isinstance(value, float) and not math.isfinite(value):  # JSON has no inf or NaN to store
        raise BenchError(f"{label}={value} is not a finite number")
    for key, holds, sign in _BOUNDS:
        bound = field.metadata.get(key)
        if bound is not None and not holds(value, bound):
            raise BenchError(f"{label}={show_value(value)} is out of range: it must be {sign} {bound}")


def validate_knobs(config: object) -> None:
    """Check every knob's range from its field metadata; the error names the knob."""
    for field in dataclasses.fields(config):
        check_range(field, getattr(config, field.name), field.name)


def parse_knob_value(owner: str, name: str, value: Any, annotation: Any) -> Any:
    """A knob value as its declared type (bool, int, float, str, enum, tuple): from a command-line
    string, or from the JSON form a record stores."""
    kind = _concrete(annotation)
    try:
        if isinstance(value, str):
            optional = kind is not annotation
            return None if optional and value.lower() == "none" else _from_text(value, kind)
        if _is_enum(kind):
            return kind(value)
        if typing.get_origin(kind) is tuple and isinstance(value, list | tuple):
            return tuple(typing.get_args(kind)[0](item) for item in value)
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if value is None or (isinstance(kind, type) and isinstance(value, kind)):
            return value
        raise TypeError(value)
    except (ValueError, TypeError, json.JSONDecodeError) as error:
        expected = _type_name(annotation)
        raise BenchError(f"{owner}.{name}={show_value(value)!r}: expected {expected}") from error


def _from_text(text: str, kind: Any) -> Any:
    if _is_enum(kind):
        return kind(text)
    if kind is bool:
        if text.lower() not in ("true", "false"):
            raise ValueError(text)
        return text.lower() == "true"
    if kind in (int, float):
        return kind(text)
    if typing.get_origin(kind) is tuple:
        return _parse_tuple(text, typing.get_args(kind)[0])
    return text


def _parse_tuple(text: str, item_type: Any) -> tuple:
    value = json.loads(text) if text.strip().startswith("[") else [part for part in text.split(",") if part]
    if not isinstance(value, list):
        value = [value]
    if item_type in (int, float) and any(isinstance(item, bool) for item in value):
        raise ValueError(text)
    return tuple(item_type(item) for item in value)


def _concrete(annotation: Any) -> Any:
    """X for `X | None`."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        options = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        return options[0] if len(options) == 1 else annotation
    return annotation


def _is_enum(kind: Any) -> bool:
    return isinstance(kind, type) and issubclass(kind, enum.Enum)


def _type_name(annotation: Any) -> str:
    kind = _concrete(annotation)
    if _is_enum(kind):
        return " | ".join(str(member.value) for member in kind)
    if typing.get_origin(kind) is tuple:
        return f"list of {typing.get_args(kind)[0].__name__}"
    name = getattr(kind, "__name__", str(kind))
    return f"{name} or none" if kind is not annotation else name
