"""Command line: `run` (the default), `report` and `list`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from bench.analysis_cli import comma_list
from bench.errors import BenchError

DEFAULT_OUT = "runs/default"
# with no arguments at all, every method trains 10 epochs so the embedded default stays within
# minutes on 2 CPU cores; methods whose own default budget is larger are marked in the README
EMBEDDED_DEFAULT_ARGS = ["run", "--epochs", "10"]
COMMANDS = ("run", "report", "list", "perf", "check", "baseline", "compare")


def _add_run_arguments(parser: argparse.ArgumentParser) -> None:
    from bench.models import DEFAULT_MODEL
    from bench.train import TrainConfig

    defaults = TrainConfig()
    grid = parser.add_argument_group("grid")
    grid.add_argument("--tasks", default="sst2", help="comma-separated task names (default: sst2)")
    grid.add_argument("--task-file", action="append", default=[], metavar="FILE",
                      help="a YAML/TOML task definition to register and run (repeatable)")
    grid.add_argument("--methods", default="all", help="comma-separated method names, or 'all'")
    grid.add_argument("--model", default=DEFAULT_MODEL,
                      help=f"hub id or local folder (default: {DEFAULT_MODEL}, shipped on PyPI)")
    grid.add_argument("--seeds", default="42", help="comma-separated seeds (default: 42)")
    grid.add_argument("--shots", default="default",
                      help="training examples in total, stratified by label; 'full' for the whole "
                           "split; 'default' = the task's own (100 for English, FewCLUE's split)")
    grid.add_argument("--fewclue-split", default="0", choices=["0", "1", "2", "3", "4", "few_all"],
                      help="FewCLUE train/dev split (default: 0)")
    grid.add_argument("--set", action="append", default=[], metavar="METHOD.KNOB=VALUE",
                      help="override a method knob, e.g. hard_prompt.freeze_backbone=true")
    grid.add_argument("--zero-shot", action="store_true",
                      help="evaluate without training (the zero-shot row of prompt-method tables)")
    paths = parser.add_argument_group("paths")
    paths.add_argument("--data-dir", help="root of the datasets (default: $PETBENCH_DATA_DIR, "
                                          "else ../shared/data beside the checkout)")
    paths.add_argument("--out", default=DEFAULT_OUT,
                       help=f"output folder; re-running resumes (default: {DEFAULT_OUT})")
    train = parser.add_argument_group("training")
    train.add_argument("--epochs", type=int, default=None, help="default: each method's own")
    train.add_argument("--max-steps", type=int, default=None, help="overrides --epochs")
    train.add_argument("--batch-size", type=int, default=defaults.batch_size)
    train.add_argument("--eval-batch-size", type=int, default=defaults.eval_batch_size)
    train.add_argument("--lr", type=float, default=None, help="default: each method's own")
    train.add_argument("--max-length", type=int, default=defaults.max_length)
    train.add_argument("--warmup-ratio", type=float, default=defaults.warmup_ratio)
    train.add_argument("--group-by-length", action="store_true",
                       help="training batches of similar length (less padding), in random order")
    train.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])


def build_parser() -> argparse.ArgumentParser:
    from bench.analysis_cli import add_check_arguments

    parser = argparse.ArgumentParser(
        prog="run_bench.py",
        description="PETBench: train and evaluate tasks x PETuning methods and report accuracy, "
                    "throughput and memory. With no command, `run` with its defaults.")
    commands = parser.add_subparsers(dest="command")
    _add_run_arguments(commands.add_parser("run", help="run a grid of cells (the default)"))
    report = commands.add_parser("report", help="rewrite results.csv and report.md of a run")
    report.add_argument("out", nargs="?", default=DEFAULT_OUT)
    commands.add_parser("list", help="list registered tasks and methods")
    add_check_arguments(commands.add_parser(
        "check", help="compare a run with a stored baseline; exit 1 on any regression"))
    baseline = commands.add_parser("baseline", help="store a run's cells as baselines/NAME.csv")
    baseline.add_argument("out", help="the run's output folder")
    baseline.add_argument("--name", required=True)
    compare = commands.add_parser("compare", help="paired difference of two methods over shared seeds")
    compare.add_argument("out", help="the run's output folder")
    compare.add_argument("--methods", required=True, help="two method names: A,B (reports A - B)")
    _add_perf_arguments(commands.add_parser(
        "perf", help="weight-free training/inference speed and peak memory of each method on a model shape"))
    return parser


def _add_perf_arguments(parser: argparse.ArgumentParser) -> None:
    from bench.shapes import SHAPES

    parser.add_argument("--shape", default="bert-tiny",
                        help=f"one of {', '.join(SHAPES)}, or a config.json path (default: bert-tiny)")
    parser.add_argument("--methods", default="all",
                        help="comma-separated methods and peers (peer_full_ft, peer_lora, ...), "
                             "lpt_cached (LPT once its cache of the states entering layer k is warm) and "
                             "p_tuning_mlp (p_tuning in peer_p_tuning's setup: MLP encoder, 20 tokens); "
                             "'all' = all of them")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--steps", type=int, default=20, help="timed steps after warm-up")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--no-speed-features", action="store_true",
                        help="switch off fused AdamW and bf16 storage of frozen weights")
    parser.add_argument("--compile", action="store_true", help="torch.compile our methods' training forward")
    parser.add_argument("--out", default="runs/perf", help="folder for perf.csv and perf.md")


def _parse_overrides(items: Sequence[str]) -> dict[str, dict[str, str]]:
    overrides: dict[str, dict[str, str]] = {}
    for item in items:
        target, _, value = item.partition("=")
        method, _, knob = target.partition(".")
        if not value or not knob:
            raise BenchError(f"--set {item!r} must look like METHOD.KNOB=VALUE")
        overrides.setdefault(method, {})[knob] = value
    return overrides


def command_run(args: argparse.Namespace) -> int:
    from bench.device import choose_device
    from bench.models import resolve_model
    from bench.results import ResultsStore
    from bench.runner import GridConfig, run_grid
    from bench.train import TrainConfig
    from methods import METHODS, get_method
    from reports import write_reports
    from tasks import get_task
    from tasks.custom import load_task_file
    from tasks.loader import resolve_data_dir

    custom = [load_task_file(Path(path)) for path in args.task_file]
    task_names = comma_list(args.tasks) if not custom or args.tasks != "sst2" else []
    tasks = tuple(dict.fromkeys([*(get_task(name) for name in task_names), *custom]))
    method_names = METHODS.names() if args.methods == "all" else comma_list(args.methods)
    overrides = _parse_overrides(args.set)
    for method in overrides:
        get_method(method)
    methods = tuple((get_method(name), get_method(name).make_config(overrides.get(name)))
                    for name in method_names)
    try:
        seeds = tuple(int(seed) for seed in comma_list(args.seeds))
    except ValueError as error:
        raise BenchError(f"--seeds {args.seeds!r} must be comma-separated integers") from error
    train = TrainConfig(epochs=args.epochs, max_steps=args.max_steps, batch_size=args.batch_size,
                        eval_batch_size=args.eval_batch_size, learning_rate=args.lr,
                        max_length=args.max_length, warmup_ratio=args.warmup_ratio,
                        zero_shot=args.zero_shot, group_by_length=args.group_by_length)
    grid = GridConfig(tasks=tasks, methods=methods, model=resolve_model(args.model), seeds=seeds,
                      shots=args.shots, fewclue_split=args.fewclue_split,
                      data_dir=resolve_data_dir(args.data_dir), train=train)
    device = choose_device(args.device)
    out = Path(args.out)
    run_grid(grid, ResultsStore(out), device)
    print(write_reports(out))
    print(f"wrote {out / 'results.csv'} and {out / 'report.md'}")
    return 0


def command_perf(args: argparse.Namespace) -> int:
    from bench.peers import PEERS
    from bench.perf import PerfConfig, run_perf, write_perf
    from bench.perf_worker import PERF_VARIANTS
    from bench.shapes import shape_config
    from methods import METHODS, get_method

    names = [*METHODS.names(), *PERF_VARIANTS, *PEERS] if args.methods == "all" else comma_list(args.methods)
    for name in names:
        if name not in PEERS and name not in PERF_VARIANTS:
            get_method(name)
    shape_config(args.shape)  # unknown shapes fail before any subprocess starts
    config = PerfConfig(shape=args.shape, methods=tuple(names), batch_size=args.batch_size,
                        seq_len=args.seq_len, steps=args.steps, warmup=args.warmup, device=args.device,
                        speed_features=not args.no_speed_features, compile=args.compile)
    print(write_perf(config, run_perf(config), Path(args.out)))
    return 0


def command_report(args: argparse.Namespace) -> int:
    from reports import write_reports

    print(write_reports(Path(args.out)))
    return 0


def command_list(args: argparse.Namespace) -> int:
    from methods import METHODS
    from tasks import TASKS

    print("tasks:")
    for name in TASKS:
        task = TASKS.get(name)
        print(f"  {name:10s} {task.language}  {task.metric:9s} {task.description}")
    print("methods:")
    for name in METHODS:
        print(f"  {name:14s} {METHODS.get(name).description}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        argv = list(EMBEDDED_DEFAULT_ARGS)
    elif argv[0] not in COMMANDS and argv[0] not in ("-h", "--help"):
        argv = ["run", *argv]
    args = build_parser().parse_args(argv)
    from bench.analysis_cli import command_baseline, command_check, command_compare

    handlers = {"run": command_run, "report": command_report, "list": command_list, "perf": command_perf,
                "check": command_check, "baseline": command_baseline, "compare": command_compare}
    try:
        return handlers[args.command](args)
    except BenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: results written so far are kept; re-run the same command to resume",
              file=sys.stderr)
        return 130
