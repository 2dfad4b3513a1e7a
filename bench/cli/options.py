"""Command-line options generated from the config dataclasses' knobs (help, type, choices), and the
parsing of --set and --search."""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Sequence
from typing import Any

from bench.core.errors import BenchError
from bench.core.knobs import check_range, describe_knobs, knob_types, parse_knob_value, show_value
from bench.training.cells import SearchAxis


def add_dataclass_options(group: argparse._ArgumentGroup, config_type: type) -> None:
    """One --option per knob (a field declared with `knob`, help and all); booleans get --x / --no-x;
    the default is None so that only what the user typed overrides the dataclass's own default."""
    for info in describe_knobs(config_type):
        if not info.help:  # a plain field, set by the command itself
            continue
        flag = "--" + info.name.replace("_", "-")
        # argparse expands %-formats in help; knob help is plain prose ("6% warm-up")
        help_text = f"{info.help} (default: {info.shown_default})".replace("%", "%%")
        if isinstance(info.default, bool):
            group.add_argument(flag, action=argparse.BooleanOptionalAction, default=None,
                               help=help_text)
        else:
            group.add_argument(flag, default=None, metavar=info.type_name.upper().replace(" ", "_")
                               if not info.choices else None, choices=info.choices or None,
                               help=help_text)


def dataclass_from_options(config_type: type, args: argparse.Namespace, **fixed: Any) -> Any:
    """The dataclass with the options the user gave (strings parsed as each knob's type) and the
    plain fields the command sets (`fixed`); a bad value is a one-line error naming its option."""
    types = knob_types(config_type)
    fields = {field.name: field for field in dataclasses.fields(config_type)}
    values = dict(fixed)
    for info in describe_knobs(config_type):
        given = getattr(args, info.name, None) if info.help else None
        if given is None:
            continue
        flag = "--" + info.name.replace("_", "-")
        try:
            value = given if isinstance(given, bool) else parse_knob_value("option", info.name, given,
                                                                            types[info.name])
        except BenchError as error:
            raise BenchError(f"{flag} {given!r}: expected {info.type_name}") from error
        check_range(fields[info.name], value, flag)
        values[info.name] = value
    return config_type(**values)


def parse_overrides(items: Sequence[str]) -> dict[str, dict[str, str]]:
    """--set METHOD.KNOB=VALUE items as {method: {knob: value}}."""
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


def parse_search(items: Sequence[str]) -> tuple[SearchAxis, ...]:
    """--search KNOB=V1,V2,... items; a target named twice is an error."""
    axes: dict[str, SearchAxis] = {}
    for item in items:
        target, _, values = item.partition("=")
        target = target.strip()
        if not target or not values.strip():
            raise BenchError(f"--search {item!r} must look like KNOB=V1,V2 (e.g. lr=1e-5,3e-5)")
        if target in axes:
            raise BenchError(f"--search names {target} twice: give all its values once")
        values_tuple = tuple(dict.fromkeys(value.strip() for value in values.split(",") if value.strip()))
        axes[target] = SearchAxis(target, values_tuple)
    return tuple(axes.values())


def knob_lines(config_type: type) -> list[str]:
    """`name (type, default): help` lines for `list --method`."""
    lines = []
    for info in describe_knobs(config_type):
        lines.append(f"  {info.name} ({info.type_name}, default {show_value(info.default)}): {info.help}")
    return lines
