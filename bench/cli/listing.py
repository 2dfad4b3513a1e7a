"""`list`: the registered tasks, methods and encoder families (plugins included), one method's knobs,
or the README's generated method and family tables."""

from __future__ import annotations

import argparse

from bench.cli.options import knob_lines
from bench.cli.plugins import load_plugins, plugin_files
from bench.core.family import FAMILIES
from bench.core.method import METHODS, get_method
from bench.core.task import TASKS


def add_list_command(commands) -> None:
    listing = commands.add_parser("list", help="list registered tasks and methods (and plugins')")
    listing.add_argument("--method", default=None, help="print this method's knobs, defaults and help")
    listing.add_argument("--families", action="store_true",
                         help="print the encoder families (architectures) and what runs on each")
    listing.add_argument("--markdown", action="store_true",
                         help="print the README's method table (with --families: its family table)")
    listing.add_argument("--plugin", action="append", default=[], metavar="FILE",
                         help="a .py plugin or task file to register first (repeatable)")


def command_list(args: argparse.Namespace) -> int:
    from reports.families_table import families_table
    from reports.methods_table import methods_table

    load_plugins(plugin_files(args.plugin))
    if args.families:
        print(families_table() if args.markdown else families_lines())
        return 0
    if args.markdown:
        print(methods_table())
        return 0
    if args.method:
        spec = get_method(args.method)
        print(f"{spec.name}: {spec.description}")
        print("\n".join(knob_lines(spec.config_type)))
        return 0
    print("tasks:")
    for name in TASKS:
        task = TASKS.get(name)
        splits = f" splits {','.join(task.splits)}" if task.splits else ""
        print(f"  {name:14s} {task.language}  {task.metric.value:9s} {task.description}{splits}")
    print("methods:")
    for name in METHODS:
        spec = METHODS.get(name)
        missing = "" if spec.available else f"  [unavailable: pip install 'petbench[{spec.extra or name}]']"
        print(f"  {name:14s} {spec.description}{missing}")
    return 0


def families_lines() -> str:
    from bench.training.compatibility import refusals

    lines = ["encoder families:"]
    for name in FAMILIES:
        info = FAMILIES.get(name).info
        lines.append(f"  {name:12s} model_type {', '.join(info.model_types):12s} {info.tokenizer.value:15s} "
                     f"e.g. {', '.join(info.checkpoints[:2])}")
    refused = refusals()
    lines.append("refused before the first cell:" if refused else "every method runs on every family")
    lines += [f"  {method} on {family}: {why}" for family, method, why in refused]
    return "\n".join(lines)
