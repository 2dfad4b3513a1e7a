"""`list`: the registered tasks, methods, protocols and encoder families (plugins included), one
method's knobs, or the README's generated method and family tables."""

from __future__ import annotations

import argparse

from bench.cli.options import knob_lines
from bench.core.extras import install_hint
from bench.core.task import TASKS, TaskSpec, get_task
from bench.session.plugins import load_plugins, plugin_files


def add_commands(commands) -> None:
    listing = commands.add_parser("list", help="list registered tasks and methods (and plugins')")
    listing.add_argument("--method", default=None, help="print this method's knobs, defaults and help")
    for flag, text in (("--families", "print the encoder families (architectures) and what runs on each"),
                       ("--protocols", "print the published protocols (`run --protocol NAME`), their source "
                                       "and the run options each stands for"),
                       ("--search-spaces", "print the named search spaces (`run --search NAME`) and each "
                                           "method's own grid with where its values come from"),
                       ("--markdown", "print the README's method table (with --families: its family table)")):
        listing.add_argument(flag, action="store_true", help=text)
    listing.add_argument("--plugin", action="append", default=[], metavar="FILE",
                         help="a .py plugin or task file to register first (repeatable)")
    listing.add_argument("--task", default=None,
                         help="print this task's definition and its first training example as a method's "
                              "input encoder turns it into tokens (--method picks the method, default "
                              "hard_prompt; --model the tokenizer)")
    listing.add_argument("--model", default=None, help="with --task: the model whose tokenizer encodes")
    listing.add_argument("--data-dir", default=None, help="with --task: the data root (as for run)")


def command_list(args: argparse.Namespace) -> int:
    from bench.core.method import METHODS, get_method
    from reports.families_table import families_table
    from reports.methods_table import methods_table

    load_plugins(plugin_files(args.plugin))
    if args.families:
        print(families_table() if args.markdown else families_lines())
        return 0
    if args.protocols:
        print(protocol_lines())
        return 0
    if args.search_spaces:
        print(search_space_lines())
        return 0
    if args.markdown:
        print(methods_table())
        return 0
    if args.task:
        print(task_lines(get_task(args.task), method=args.method or "hard_prompt", model=args.model,
                         data_dir=args.data_dir))
        return 0
    if args.method:
        spec = get_method(args.method)
        print(f"{spec.name}: {spec.description}")
        print("\n".join(knob_lines(spec.config_type)))
        from bench.training.search_spaces import describe_search_space

        print("search space (run --search default):", "; ".join(describe_search_space(spec.name)) or "none")
        return 0
    print("tasks:")
    for name in TASKS:
        task = TASKS.get(name)
        splits = f" splits {','.join(task.splits)}" if task.splits else ""
        print(f"  {name:14s} {task.language}  {task.metric:9s} {task.description}{splits}")
    print("methods:")
    for name in METHODS:
        spec = METHODS.get(name)
        missing = "" if spec.available else f"  [unavailable: {install_hint(spec.extra or name)}]"
        print(f"  {name:14s} {spec.description}{missing}")
    return 0


def search_space_lines() -> str:
    from bench.core.method import METHODS
    from bench.training.search_spaces import describe_search_space, search_space_names

    lines = [f"search spaces (run --search NAME): {', '.join(search_space_names())}; `default` is every "
             f"method's own grid, a group name the grids of its methods"]
    for name in METHODS:
        lines += [f"  {name}: " + ("; ".join(describe_search_space(name)) or "its defaults (no grid)")]
    return "\n".join(lines)


def protocol_lines() -> str:
    from bench.core.protocol import PROTOCOLS

    lines = ["protocols (run --protocol NAME; options given with it win):"]
    for name in PROTOCOLS:
        spec = PROTOCOLS.get(name)
        settings = {"tasks": ",".join(spec.tasks), "methods": ",".join(spec.methods), "model": spec.model,
                    "split": spec.split, "seeds": ",".join(map(str, spec.seeds)), "shots": spec.shots,
                    **{name: value for name, value in spec.train},
                    "search": " ".join(f"{axis}={','.join(values)}" for axis, values in spec.search),
                    "set": " ".join(f"{target}={value}" for target, value in spec.knobs)}
        shown = " ".join(f"--{key.replace('_', '-')} {value}" for key, value in settings.items() if value)
        lines += [f"  {name}: {spec.description}", f"    source: {spec.reference}", f"    runs as: {shown}",
                  f"    selection: {spec.selection}"]
    return "\n".join(lines)


def families_lines() -> str:
    from bench.core.family import FAMILIES
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


def task_lines(task: TaskSpec, *, method: str, model: str | None, data_dir: str | None) -> str:
    """A task's definition, and its first training example as `method` feeds it to the model."""
    from bench.core.data import load_task_data, resolve_data_dir
    from bench.core.method import get_method
    from bench.session.grid import model_of

    pairs = zip(task.labels, task.verbalizer, strict=True)
    labels = ", ".join(f"{label} -> {word!r}" for label, word in pairs)
    files = {name: getattr(task, name).path for name in ("train", "dev", "eval") if getattr(task, name)}
    lines = [f"{task.name}: {task.description}", f"  language {task.language}, metric {task.metric}, "
             f"text fields {list(task.text_fields)}, label field {task.label_field!r}",
             f"  template {task.template!r}", f"  labels and label words: {labels}",
             f"  label map (file value -> label): {dict(task.label_map) or 'none'}",
             f"  files: {files or 'none'}; hub: {task.hub.path if task.hub else 'none'}",
             f"  official splits: {list(task.splits) or 'none'}; "
             f"default shots: {task.default_shots or 'all'}"]
    spec = get_method(method)
    ref = model_of(model, (task,))
    built = spec.build(spec.make_config(), model=ref, task=task, max_length=128)
    split = task.splits[0] if task.splits else None
    data = load_task_data(task, data_dir=resolve_data_dir(data_dir), split=split)
    example = data.train[0]
    [encoded] = built.encoder.encode([example])
    tokens = built.encoder.tokenizer.convert_ids_to_tokens(list(encoded.input_ids))
    lines += [f"first training example (label {task.labels[example.label]}): {list(example.texts)}",
              f"  as {method} on {ref.display_name} feeds it ({len(tokens)} tokens): {' '.join(tokens)}"]
    if encoded.mask_positions:
        lines.append(f"  [MASK] at positions {list(encoded.mask_positions)}")
    return "\n".join(lines)
