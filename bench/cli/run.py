"""`run`: its options, and the arguments as a RunSpec for bench.session, which checks the whole grid
before anything is written or trained, runs the cells and writes the reports. Exit 0 (all succeeded),
1 (a cell failed, or the disk refused a record or the reports) or 2 (bad input)."""

from __future__ import annotations

import argparse

from bench.cli.options import add_dataclass_options, add_device_options, given_options
from bench.session.executors import EXECUTORS
from bench.session.spec import DEFAULT_EXECUTOR, DEFAULT_OUT, DEFAULT_TASK, RunSpec, comma_list
from bench.training.settings import TrainConfig

DEFAULT_MODEL_NOTE = "all-MiniLM-L6-v2; multilingual-e5-small when a task is Chinese"


def add_commands(commands) -> None:
    add_run_arguments(commands.add_parser("run", help="run a grid of cells (the default command)"))


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    grid = parser.add_argument_group("grid")
    grid.add_argument("--tasks", default=None, help=f"comma-separated task names, exactly the tasks that run "
                                                     f"(default: the --task-file tasks, else {DEFAULT_TASK})")
    grid.add_argument("--task-file", action="append", default=[], metavar="FILE",
                      help="a YAML/TOML task definition to register (repeatable); its tasks run unless "
                           "--tasks names others")
    grid.add_argument("--methods", default=None,
                      help="comma-separated method names, or 'all' (the default: every registered method "
                           "whose extra is installed; with --zero-shot, every one with a zero-shot form)")
    grid.add_argument("--model", default=None,
                      help=f"embedded name (all-MiniLM-L6-v2, multilingual-e5-small), local folder or hub "
                           f"id of an encoder of a registered family (BERT, RoBERTa, XLM-R, DeBERTa-v2/v3, "
                           f"ELECTRA, ALBERT, DistilBERT, ModernBERT, ERNIE, RoFormer: `list --families`) "
                           f"(default: {DEFAULT_MODEL_NOTE})")
    grid.add_argument("--seeds", default=None, help="comma-separated non-negative seeds (default: 42)")
    grid.add_argument("--shots", default=None,
                      help="training examples in total, stratified by label; 'full' for the whole split; "
                           "'default' = the task's own (100 for English, the official split for "
                           "FewCLUE and LM-BFF); several, comma-separated, are a grid axis (a shot curve)")
    grid.add_argument("--split", default=None,
                      help="official splits of tasks that have them (FewCLUE 0..4, few_all; LM-BFF 13, 21, "
                           "42, 87, 100): 'default' (the first), 'all', or comma-separated names")
    grid.add_argument("--protocol", default=None, metavar="NAME|FILE",
                      help="a published protocol's tasks, splits, seeds, shots, model, grid and budget "
                           "(`list --protocols`); options given with it win over the protocol's")
    grid.add_argument("--references", action="append", default=[], metavar="FILE",
                      help="a file of published results for the report to set beside matching rows "
                           "(repeatable; the built-in sets in reports/references/ are always read)")
    grid.add_argument("--set", action="append", default=[], metavar="METHOD.KNOB=VALUE",
                      help="set a method knob, e.g. hard_prompt.freeze_backbone=true (`list --method NAME` "
                           "shows the knobs)")
    grid.add_argument("--lr", default=None,
                      help="learning rate of every method in the grid (each method's own by default); a "
                           "--set METHOD.learning_rate with another value is an error")
    grid.add_argument("--epochs", default=None,
                      help="epochs of every method in the grid (each method's own by default); a --set "
                           "METHOD.epochs with another value is an error")
    grid.add_argument("--search", action="append", default=[], metavar="KNOB=V1,V2|SPACE",
                      help="model selection: run every value (repeatable; lr, epochs, a training option "
                           "such as batch_size, or METHOD.KNOB), or a named search space (default: each "
                           "method's own grid; `list --search-spaces`); the report picks the best dev score "
                           "per seed and split")
    grid.add_argument("--selection", default=None, metavar="PROTOCOL",
                      help="how --search selects: fixed (the task's dev set, the default), "
                           "multisplit:K:RATIO (K re-splits of the labelled pool; FewNLU's is "
                           "multisplit:4:0.5), "
                           "cv:K (K-fold cross-validation), mdl (minimum description length) or none (one "
                           "fixed setting)")
    grid.add_argument("--plugin", action="append", default=[], metavar="FILE",
                      help="a .py plugin registering methods/tasks, or a task file (repeatable; also "
                           "$PETBENCH_PLUGINS)")
    paths = parser.add_argument_group("paths")
    paths.add_argument("--data-dir", help="root of the datasets (default: $PETBENCH_DATA_DIR, else "
                                          "../shared/data beside the checkout)")
    paths.add_argument("--out", default=DEFAULT_OUT,
                       help=f"output folder; re-running resumes (default: {DEFAULT_OUT})")
    execution = parser.add_argument_group("execution")
    execution.add_argument("--rerun", action="store_true",
                           help="train every cell again, also those already done in --out (their new "
                                "records replace the old ones in the reports)")
    add_device_options(execution)
    execution.add_argument("--executor", default=DEFAULT_EXECUTOR, metavar="NAME",
                           help="where cells train: " + "; ".join(f"{name}: {EXECUTORS.get(name).help}"
                                                                   for name in EXECUTORS)
                                + f" (default: {DEFAULT_EXECUTOR}; a plugin may register others)")
    execution.add_argument("--dry-run", action="store_true",
                           help="train nothing: check every input, then print the plan (cells, how many are "
                                "done in --out, the data and model) and an estimate of its wall time from "
                                "this machine's earlier cells")
    for name in EXECUTORS:
        add_dataclass_options(execution, EXECUTORS.get(name).options)
    execution.add_argument("--executor-option", action="append", default=[], metavar="KNOB=VALUE",
                           help="an option of a plugin's executor (repeatable)")
    execution.add_argument("--cpus-per-cell", type=int, default=None,
                           help="CPU threads per cell (ray: the CPUs each cell reserves; default 1 on ray, "
                                "all on local)")
    outputs = parser.add_argument_group("outputs")
    outputs.add_argument("--log-to", default=None, metavar="NAMES",
                         help="comma-separated result sinks besides the report, each cell one tracked run: "
                              "mlflow (a file store in OUT/mlruns, or $MLFLOW_TRACKING_URI; "
                              "pip install 'petbench[mlflow]'), wandb (offline under OUT/wandb unless "
                              "$WANDB_MODE says otherwise; pip install 'petbench[wandb]'), or one a --plugin "
                              "file registers")
    outputs.add_argument("--log-samples", action=argparse.BooleanOptionalAction, default=None,
                         help="write each cell's eval examples (id, gold label, prediction, class "
                              "probabilities, text) to OUT/samples/CELL_ID.jsonl.gz, for the report's "
                              "rankings (bootstrap intervals and groups over examples), `compare`'s paired "
                              "test and report.html's list of each cell's errors (default: on wherever the "
                              "executor's cells can write into --out, local and inline; off on ray); not "
                              "part of the cell id (cells already done are not re-run: add --rerun for their "
                              "samples)")
    add_dataclass_options(parser.add_argument_group("training"), TrainConfig)


def run_spec_of(args: argparse.Namespace) -> RunSpec:
    """The parsed arguments as a run spec (options left out stay None: the protocol's or the default)."""
    executor_options = {}
    for name in EXECUTORS:
        executor_options.update(given_options(args, EXECUTORS.get(name).options))
    for item in args.executor_option:
        key, equals, value = item.partition("=")
        if not equals or not key.strip():
            from bench.core.errors import BenchError

            raise BenchError(f"--executor-option {item!r} must look like KNOB=VALUE")
        executor_options[key.strip().replace("-", "_")] = value.strip()
    return RunSpec(
        tasks=None if args.tasks is None else comma_list(args.tasks) or (), task_files=tuple(args.task_file),
        methods=args.methods, model=args.model, seeds=args.seeds, shots=args.shots, split=args.split,
        protocol=args.protocol, references=tuple(args.references), knobs=tuple(args.set), lr=args.lr,
        epochs=args.epochs, search=tuple(args.search), selection=args.selection,
        train=given_options(args, TrainConfig), plugins=tuple(args.plugin), data_dir=args.data_dir,
        out=args.out, rerun=args.rerun, device=args.device, precision=args.precision, executor=args.executor,
        executor_options=executor_options, cpus_per_cell=args.cpus_per_cell,
        log_to=tuple(comma_list(args.log_to or "")), log_samples=args.log_samples,
        command=getattr(args, "command_line", ""))


def command_run(args: argparse.Namespace) -> int:
    from bench.session import dry_run, run

    spec = run_spec_of(args)
    if args.dry_run:
        for line in dry_run(spec):
            print(line)
        return 0
    result = run(spec)
    print_closings(result.closings)
    print(result.summary)
    return result.exit_code


def print_closings(closings) -> None:
    """What each sink said when it closed (the report's Markdown) and the files it wrote."""
    for closing in closings:
        if closing.text:
            print(closing.text)
        if closing.files:
            *first, last = closing.files
            print(f"wrote {', '.join(str(path) for path in first)} and {last}" if first else f"wrote {last}")
