"""`pretrain` (the masked-LM stage: a checkpoint with a trained head for prompt methods) and `probe`
(the words a checkpoint's MLM head guesses at [MASK])."""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.cli.options import add_dataclass_options, add_device_options, dataclass_from_options
from bench.core.errors import BenchError
from bench.core.leaks import Guarded, HeldOut, drop_held_out, require_some
from bench.training.stage_config import PcpConfig, PretrainConfig


def add_commands(commands) -> None:
    stage = commands.add_parser(
        "pretrain", help="continue masked-LM training of a checkpoint on unlabelled task texts (a head "
                         "for prompt methods); --model DIR then uses the result",
        description="Texts come from the train split of --tasks (never dev or eval) and/or --text-file; "
                    "with --template each is wrapped in its task's template (its [MASK] slot carries no "
                    "loss). With --pcp (prompt-based continued pretraining) a teacher method trained on "
                    "the task's labelled examples pseudo-labels its unlabelled texts (its train texts, "
                    "labels ignored, or --unlabelled) and each is written into the template with its "
                    "pseudo-label's word in the slot. Every text equal to a dev or eval text of --tasks or "
                    "--guard-tasks (normalised) is dropped, and the checkpoint's card says how many.")
    stage.add_argument("--model", default=None,
                       help="embedded name, local folder or hub id (default as in run)")
    stage.add_argument("--out", required=True, help="folder for the checkpoint (and its resumable state)")
    stage.add_argument("--tasks", default="", help="comma-separated tasks whose train texts are used")
    stage.add_argument("--split", default=None,
                       help="official split of those tasks (default: each task's own)")
    stage.add_argument("--template", action="store_true", help="wrap each text in its task's template")
    stage.add_argument("--text-file", default=None, help="a UTF-8 file of texts, one per line")
    stage.add_argument("--guard-tasks", default="", metavar="TASKS",
                       help="comma-separated tasks the checkpoint will be evaluated on: a text equal to one "
                            "of their dev or eval texts (every split present; compared NFKC-normalised, "
                            "case-folded, without punctuation and whitespace) is dropped, as for --tasks, "
                            "which are always guarded; needed with --text-file alone")
    stage.add_argument("--pcp", action="store_true",
                       help="prompt-based continued pretraining on pseudo-labelled template lines (one task)")
    stage.add_argument("--unlabelled", default=None, metavar="FILE",
                       help="with --pcp: FewCLUE's unlabeled.json (the task's fields) or a text file (a pair "
                            "task's fields tab-separated); default: the task's train texts")
    stage.add_argument("--data-dir", default=None, help="root of the datasets (as in run)")
    add_device_options(stage, precision=False)
    stage.add_argument("--plugin", action="append", default=[], metavar="FILE",
                       help="plugin or task file")
    add_dataclass_options(stage.add_argument_group("stage"), PretrainConfig)
    add_dataclass_options(stage.add_argument_group("pcp (with --pcp)"), PcpConfig)
    probe = commands.add_parser("probe",
                                help="top-k words a checkpoint's MLM head puts at each [MASK] of a text")
    probe.add_argument("texts", nargs="+", help='texts with [MASK] (or <mask>), e.g. "It was [MASK] ."')
    probe.add_argument("--model", default="all-MiniLM-L6-v2", help="embedded name, local folder or hub id")
    probe.add_argument("--top-k", type=int, default=5)
    add_device_options(probe, precision=False)


def _texts(args: argparse.Namespace) -> tuple[list[str], str, list, Guarded]:
    """The stage's texts (none equal to a dev or eval text of a guarded task), a description of where
    they came from, the tasks they came from, and what the leak guard dropped."""
    from bench.core.data import load_task_data, resolve_data_dir
    from bench.core.task import get_task
    from bench.session.spec import comma_list as _comma_list

    tasks = [get_task(name) for name in _comma_list(args.tasks)]
    if not tasks and not args.text_file:
        raise BenchError("no texts: give --tasks (their train texts are used) and/or --text-file")
    held_out = _held_out(args, tasks)
    texts, parts, guards = [], [], []
    for task in tasks:
        split = args.split if task.splits and args.split else task.default_split
        data = load_task_data(task, data_dir=resolve_data_dir(args.data_dir), split=split)
        guards.append(drop_held_out([example.texts for example in data.train], held_out))
        texts += [_wrapped(task, fields) if args.template else " ".join(fields) for fields in guards[-1].kept]
        parts.append(f"{task.name}{f' split {split}' if split else ''} train texts ({len(data.train)})")
    if args.text_file:
        path = Path(args.text_file)
        if not path.is_file():
            raise BenchError(f"--text-file {path} not found: pass a UTF-8 file with one text per line")
        lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        guards.append(drop_held_out([(line,) for line in lines], held_out))
        texts += [line for (line,) in guards[-1].kept]
        parts.append(f"{path.name} ({len(lines)} lines)")
    wrapped = " wrapped in their templates" if args.template else ""
    guarded = Guarded([row for guard in guards for row in guard.kept], sum(guard.read for guard in guards),
                      sum(guard.dropped for guard in guards), held_out.what)
    return texts, " + ".join(parts) + wrapped, tasks, guarded


def _held_out(args: argparse.Namespace, tasks: list) -> HeldOut:
    """The dev and eval texts (every split present) of --tasks and --guard-tasks: the stage's checkpoint
    will be evaluated on them, so none of its texts may repeat one."""
    from bench.core.data import load_held_out, resolve_data_dir
    from bench.core.task import get_task
    from bench.session.spec import comma_list as _comma_list

    guarded = {task.name: task for task in [*tasks, *map(get_task, _comma_list(args.guard_tasks))]}
    if not guarded:
        raise BenchError("--text-file needs --guard-tasks naming the tasks the checkpoint will be evaluated "
                         "on: texts equal to their dev or eval texts are dropped from the file")
    data_dir = resolve_data_dir(args.data_dir)
    examples = [example for task in guarded.values() for example in load_held_out(task, data_dir=data_dir)]
    return HeldOut.of((example.texts for example in examples),
                      f"dev or eval text of {', '.join(guarded)} (every split present)")


def _wrapped(task, texts: tuple[str, ...]) -> str:
    from bench.core.task import filled_template

    return filled_template(task, texts)[0]


def _pcp_stage(args: argparse.Namespace, config: PretrainConfig, out: Path, device):
    """The PCP stage on one task: its labelled split trains the teacher, its texts get pseudo-labels."""
    from bench.core.data import load_task_data, resolve_data_dir
    from bench.core.task import get_task
    from bench.core.unlabelled import read_unlabelled
    from bench.session.grid import model_of as _model
    from bench.session.spec import comma_list as _comma_list
    from bench.training.pcp import run_pcp

    names = _comma_list(args.tasks)
    if len(names) != 1:
        raise BenchError("--pcp needs exactly one task in --tasks (its template, label words and teacher)")
    if args.text_file or args.template:
        raise BenchError("--pcp writes its own template lines: drop --text-file / --template (unlabelled "
                         "texts go in --unlabelled)")
    task = get_task(names[0])
    held_out = _held_out(args, [task])
    split = args.split if task.splits and args.split else task.default_split
    data = load_task_data(task, data_dir=resolve_data_dir(args.data_dir), split=split)
    if args.unlabelled:
        texts = read_unlabelled(Path(args.unlabelled), task)
        source = f"{Path(args.unlabelled).name} ({len(texts)})"
    else:
        texts = [example.texts for example in data.train]
        source = f"{task.name}{f' split {split}' if split else ''} train texts ({len(texts)}, labels ignored)"
    return run_pcp(_model(args.model, (task,)), task, data, texts, source=source, split=split,
                   held_out=held_out, out=out, stage=config, config=dataclass_from_options(PcpConfig, args),
                   device=device)


def command_pretrain(args: argparse.Namespace) -> int:
    from bench.core.device import choose_device
    from bench.core.models import MODEL_CARD
    from bench.session.grid import model_of as _model
    from bench.session.plugins import load_plugins, plugin_files
    from bench.training.pretrain import STATE_FILE, StageNote, pretrain

    load_plugins(plugin_files(args.plugin))
    config = dataclass_from_options(PretrainConfig, args)
    out = Path(args.out)
    if (out / MODEL_CARD).is_file() and not (out / STATE_FILE).is_file():
        raise BenchError(f"{out} already holds a finished checkpoint: pick another --out")
    _check_pcp_options(args)
    if args.pcp:
        outcome = _pcp_stage(args, config, out, choose_device(args.device))
    else:
        texts, source, tasks, guarded = _texts(args)
        require_some(guarded, source)
        note = StageNote(detail=guarded.sentence(), facts=tuple({"stage": "mlm", **guarded.facts()}.items()))
        outcome = pretrain(_model(args.model, tuple(tasks)), texts, source=source, out=out, config=config,
                           device=choose_device(args.device), note=note)
    resumed = f" (resumed at step {outcome.resumed_from})" if outcome.resumed_from else ""
    print(f"wrote {outcome.folder}: {outcome.steps} steps{resumed}; held-out MLM loss "
          f"{outcome.heldout_loss_before:.3f} -> {outcome.heldout_loss_after:.3f}")
    print(f"use it with: run_bench.py --model {outcome.folder} ...")
    return 0


def _check_pcp_options(args: argparse.Namespace) -> None:
    """PCP's options mean nothing without --pcp: say so rather than ignore them."""
    names = (*PcpConfig.__dataclass_fields__, "unlabelled")
    given = [name for name in names if getattr(args, name) is not None]
    if given and not args.pcp:
        shown = ", ".join("--" + name.replace("_", "-") for name in given)
        raise BenchError(f"{shown} only apply with --pcp: add --pcp, or drop them")


def command_probe(args: argparse.Namespace) -> int:
    from bench.core.device import choose_device
    from bench.core.models import resolve_model
    from bench.session.plugins import load_builtins
    from bench.training.fill_mask import fill_mask

    load_builtins()  # the encoder families that read the checkpoint

    if args.top_k < 1:
        raise BenchError("--top-k must be at least 1")
    head, results = fill_mask(resolve_model(args.model), args.texts, top_k=args.top_k,
                              device=choose_device(args.device))
    from bench.core.method import HeadOrigin

    warning = " (random weights: the guesses are noise)" if head.origin == HeadOrigin.NEW else ""
    print(f"MLM head: {head}{warning}")
    for guesses in results:
        print(guesses.text)
        for number, words in enumerate(guesses.per_mask, start=1):
            shown = " | ".join(f"{word} {probability:.3f}" for word, probability in words)
            print(f"  mask {number}: {shown}")
    return 0
