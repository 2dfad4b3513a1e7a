"""Command-line options generated from the config dataclasses' knobs (help, type, choices), and the
device and precision options every command that computes shares."""

from __future__ import annotations

import argparse
from typing import Any

from bench.core.knobs import describe_knobs, show_value
from bench.core.precision import DEVICE_HELP, PRECISION_HELP, Device, Precision
from bench.session.grammar import config_from_values


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
            metavar = info.type_name.removesuffix(" or none").upper().replace(" ", "_")
            group.add_argument(flag, default=None, metavar=None if info.choices else metavar,
                               choices=info.choices or None, help=help_text)


def given_options(args: argparse.Namespace, config_type: type) -> dict[str, Any]:
    """The knobs of config_type the user typed (as typed)."""
    return {info.name: getattr(args, info.name) for info in describe_knobs(config_type)
            if info.help and getattr(args, info.name, None) is not None}


def dataclass_from_options(config_type: type, args: argparse.Namespace, **fixed: Any) -> Any:
    """The dataclass with the options the user gave (strings parsed as each knob's type) and the
    plain fields the command sets (`fixed`); a bad value is a one-line error naming its option."""
    return config_from_values(config_type, given_options(args, config_type), **fixed)


def add_device_options(parser, *, precision: bool = True) -> None:
    """--device, and --precision for commands whose numbers depend on it."""
    parser.add_argument("--device", default=Device.AUTO.value, choices=[device.value for device in Device],
                        help=DEVICE_HELP)
    if precision:
        parser.add_argument("--precision", default=Precision.AUTO.value,
                            choices=[value.value for value in Precision], help=PRECISION_HELP)


def knob_lines(config_type: type) -> list[str]:
    """`name (type, default): help` lines for `list --method`."""
    lines = []
    for info in describe_knobs(config_type):
        lines.append(f"  {info.name} ({info.type_name}, default {show_value(info.default)}): {info.help}")
    return lines
