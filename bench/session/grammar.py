"""The small languages of a run spec: METHOD.KNOB=VALUE settings, KNOB=V1,V2 search axes, and a
config dataclass built from text values (each parsed as its knob's type, a bad one named)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from bench.core.errors import BenchError
from bench.core.knobs import check_range, describe_knobs, knob_types, parse_knob_value


def option_name(name: str) -> str:
    return "--" + name.replace("_", "-")


def config_from_values(config_type: type, given: Mapping[str, Any], *,
                       label: Callable[[str], str] = option_name, **fixed: Any) -> Any:
    """The dataclass with the given values (text parsed as each knob's type, booleans as they are) and
    the plain fields a command sets (`fixed`); a bad value is a one-line error naming its option."""
    types = knob_types(config_type)
    type_names = {info.name: info.type_name for info in describe_knobs(config_type)}
    fields = {field.name: field for field in dataclasses.fields(config_type)}
    values = dict(fixed)
    for name, given_value in given.items():
        if name not in fields:
            raise BenchError(f"{label(name)} is not a setting of {config_type.__name__}; they are "
                             f"{', '.join(sorted(fields))}")
        try:
            value = given_value if isinstance(given_value, bool) else \
                parse_knob_value("option", name, given_value, types[name])
        except BenchError as error:
            raise BenchError(f"{label(name)} {given_value!r}: expected {type_names[name]}") from error
        check_range(fields[name], value, label(name))
        values[name] = value
    return config_type(**values)


def parse_overrides(items: Sequence[str]) -> dict[str, dict[str, str]]:
    """METHOD.KNOB=VALUE items as {method: {knob: value}}."""
    overrides: dict[str, dict[str, str]] = {}
    for item in items:
        target, _, value = item.partition("=")
        method, _, knob_name = target.partition(".")
        if not value or not knob_name or not method:
            raise BenchError(f"--set {item!r} must look like METHOD.KNOB=VALUE")
        previous = overrides.setdefault(method, {}).get(knob_name)
        if previous is not None and previous != value:
            raise BenchError(f"--set gives {method}.{knob_name} twice ({previous} and {value}): give it once")
        overrides[method][knob_name] = value
    return overrides


def merge_shorthands(overrides: dict[str, dict[str, str]], methods: Sequence[str], *,
                     shorthands: dict[str, str | None]) -> dict[str, dict[str, str]]:
    """--lr / --epochs set that knob of every method in the grid that has it (methods trained
    outside the gradient loop have neither); a --set of the same knob with another value is an
    error (one option, one meaning), an equal one is accepted."""
    from bench.core.method import get_method

    merged = {method: dict(knobs) for method, knobs in overrides.items()}
    for knob_name, value in shorthands.items():
        if value is None:
            continue
        option = {"learning_rate": "--lr", "epochs": "--epochs"}[knob_name]
        for method in [name for name in methods if knob_name in knob_types(get_method(name).config_type)]:
            earlier = merged.setdefault(method, {}).get(knob_name)
            if earlier is not None and _differs(earlier, value):
                raise BenchError(f"{option} {value} and --set {method}.{knob_name}={earlier} disagree: "
                                 f"give one of them")
            merged[method][knob_name] = value
    return merged


def _differs(first: str, second: str) -> bool:
    try:
        return float(first) != float(second)
    except ValueError:
        return first != second


def parse_search(items: Sequence[str]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """KNOB=V1,V2,... items as (target, values); a target named twice is an error. An item without
    '=' is the name of a search space, returned as (name, ())."""
    axes: dict[str, tuple[str, ...]] = {}
    for item in items:
        target, equals, values = item.partition("=")
        target = target.strip()
        if not equals and target:
            axes.setdefault(target, ())
            continue
        if not target or not values.strip():
            raise BenchError(f"--search {item!r} must look like KNOB=V1,V2 (e.g. lr=1e-5,3e-5) or name a "
                             f"search space")
        if target in axes:
            raise BenchError(f"--search names {target} twice: give all its values once")
        axes[target] = tuple(dict.fromkeys(value.strip() for value in values.split(",") if value.strip()))
    return tuple(axes.items())
