"""`run`: validate the whole grid before anything is written or trained, run the cells on the
chosen executor, write the reports, and exit 0 (all succeeded), 1 (a cell failed, or the disk refused a
record or the reports) or 2 (bad input)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from bench.cli.options import (
    add_dataclass_options,
    dataclass_from_options,
    merge_shorthands,
    parse_overrides,
    parse_search,
)
from bench.cli.plugins import WORKER_PRELOAD, PluginSetup, load_plugins, plugin_files
from bench.core.errors import BenchError
from bench.core.method import METHODS, get_method
from bench.core.samples import SAMPLES_DIR
from bench.core.store import RESULTS_FILE
from bench.core.task import TaskSpec, get_task
from bench.training.cells import Grid, check_search_axes, method_choice, task_splits
from bench.training.compatibility import check_model_for_grid
from bench.training.loop import TrainConfig

DEFAULT_OUT = "runs/default"
DEFAULT_TASK = "sst2"


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    from bench.core.models import DEFAULT_MODEL
    from bench.training.executors import ExecutorKind

    grid = parser.add_argument_group("grid")
    grid.add_argument("--tasks", default=None, help=f"comma-separated task names, exactly the tasks that run "
                                                     f"(default: the --task-file tasks, else {DEFAULT_TASK})")
    grid.add_argument("--task-file", action="append", default=[], metavar="FILE",
                      help="a YAML/TOML task definition to register (repeatable); its tasks run unless "
                           "--tasks names others")
    grid.add_argument("--methods", default="all", help="comma-separated method names, or 'all' (every "
                                                       "registered method whose extra is installed; with "
                                                       "--zero-shot, every one with a zero-shot form)")
    grid.add_argument("--model", default=None,
                      help=f"embedded name (all-MiniLM-L6-v2, multilingual-e5-small), local folder or hub "
                           f"id of an encoder of a registered family (BERT, RoBERTa, XLM-R, DeBERTa-v2/v3, "
                           f"ELECTRA, ALBERT, DistilBERT, ModernBERT, ERNIE, RoFormer: `list --families`) "
                           f"(default: {DEFAULT_MODEL}; multilingual-e5-small when a task is Chinese)")
    grid.add_argument("--seeds", default="42", help="comma-separated non-negative seeds (default: 42)")
    grid.add_argument("--shots", default="default",
                      help="training examples in total, stratified by label; 'full' for the whole split; "
                           "'default' = the task's own (100 for English, the official split for "
                           "FewCLUE and LM-BFF)")
    grid.add_argument("--split", default="default",
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
    grid.add_argument("--search", action="append", default=[], metavar="KNOB=V1,V2",
                      help="model selection: run every value (repeatable; lr, epochs, a training option "
                           "such as batch_size, or METHOD.KNOB); the report picks the best dev score per "
                           "seed and split")
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
    execution.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    execution.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"],
                           help="auto: bf16 autocast on CUDA and on CPUs with native bf16 instructions "
                                "(AVX512-BF16, AMX), fp32 on other CPUs; the record's dtype says which")
    execution.add_argument("--executor", default=ExecutorKind.LOCAL.value,
                           choices=[kind.value for kind in ExecutorKind],
                           help="local: each cell in a fresh child process, --jobs at a time (default); "
                                "inline: in this process (debugging); ray: Ray tasks on a cluster "
                                "(pip install 'petbench[ray]')")
    execution.add_argument("--dry-run", action="store_true",
                           help="train nothing: check every input, then print the plan (cells, how many are "
                                "done in --out, the data and model) and an estimate of its wall time from "
                                "this machine's earlier cells")
    execution.add_argument("--jobs", default="1",
                           help="local: cells run at once, each in its own process with its share of the "
                                "cores (an integer, or 'auto': one per core while memory allows); "
                                "records say how many shared the machine")
    execution.add_argument("--ray-address", default=None,
                           help="ray: 'auto' or HOST:PORT of a running cluster (default: start a local one)")
    execution.add_argument("--cpus-per-cell", type=int, default=None,
                           help="CPU threads per cell (ray: the CPUs each cell reserves; default 1 on ray, "
                                "all on local)")
    execution.add_argument("--gpus-per-cell", type=float, default=None,
                           help="ray: GPUs each cell reserves (default 1 when the cluster has GPUs, else 0)")
    execution.add_argument("--retries", type=int, default=0,
                           help="ray: retry a cell whose worker died (out of memory, node lost) this many "
                                "times")
    outputs = parser.add_argument_group("outputs")
    outputs.add_argument("--log-to", default=None, metavar="NAMES",
                         help="comma-separated result loggers, each cell one tracked run: mlflow (a "
                              "file store in OUT/mlruns, or $MLFLOW_TRACKING_URI; pip install "
                              "'petbench[mlflow]'), wandb (offline under OUT/wandb unless $WANDB_MODE says "
                              "otherwise; pip install 'petbench[wandb]'), or one a --plugin file registers")
    outputs.add_argument("--log-samples", action="store_true",
                         help="write each cell's eval examples (id, gold label, prediction, class "
                              "probabilities, text) to OUT/samples/CELL_ID.jsonl.gz, for `compare`'s paired "
                              "test on shared examples and report.html's list of each cell's errors; not "
                              "part of the cell id (cells already done are not re-run: add --rerun for their "
                              "samples)")
    add_dataclass_options(parser.add_argument_group("training"), TrainConfig)


def build_grid(args: argparse.Namespace) -> tuple[Grid, PluginSetup]:
    """Everything the CLI can check before the first cell: names, knobs, numbers, seeds, splits, model."""
    setup = load_plugins(plugin_files(args.plugin))
    tasks = _tasks(args)
    train = dataclass_from_options(TrainConfig, args)
    method_names = _method_names(args.methods, zero_shot=train.zero_shot)
    overrides = parse_overrides(args.set)
    for method in overrides:
        get_method(method)
        if method not in method_names:
            raise BenchError(f"--set names method {method}, which is not in the grid "
                             f"({', '.join(method_names)}): add it to --methods or drop the --set")
    shorthands = {"learning_rate": args.lr, "epochs": args.epochs}
    knobs = merge_shorthands(overrides, method_names, shorthands=shorthands)
    choices = tuple(method_choice(name, knobs.get(name)) for name in method_names)
    search = parse_search(args.search)
    check_search_axes(search, method_names)
    _check_splits(tasks, args.split)
    grid = Grid(tasks=tasks, methods=choices, model=_model(args.model, tasks), seeds=_seeds(args.seeds),
                shots=_shots(args.shots), splits=args.split, train=train, search=search,
                runtime=_runtime(args))
    check_model_for_grid(grid.model, method_names, max_length=grid.train.max_length,
                         zero_shot=grid.train.zero_shot)
    return grid, setup


def _tasks(args: argparse.Namespace) -> tuple[TaskSpec, ...]:
    from tasks.dialect import load_task_file

    from_files = [spec for path in args.task_file for spec in load_task_file(Path(path))]  # registers them
    if args.tasks is None:  # the files' tasks, else the default
        return tuple(from_files) if from_files else (get_task(DEFAULT_TASK),)
    names = _comma_list(args.tasks)
    if not names:
        raise BenchError("--tasks is empty: name at least one task (`run_bench.py list` shows them)")
    return tuple(dict.fromkeys(get_task(name) for name in names))


def _method_names(value: str, *, zero_shot: bool = False) -> list[str]:
    """The grid's methods; with --zero-shot, 'all' means every method with a zero-shot form, and a
    named method without one is refused."""
    if value == "all":
        return [name for name in METHODS.names()
                if METHODS.get(name).available and (METHODS.get(name).zero_shot or not zero_shot)]
    names = list(dict.fromkeys(_comma_list(value)))
    if not names:
        raise BenchError("--methods is empty: name at least one method, or 'all'")
    for name in names:
        get_method(name).require_available()
    without = [name for name in names if zero_shot and not get_method(name).zero_shot]
    if without:
        having = ", ".join(name for name in METHODS.names() if METHODS.get(name).zero_shot)
        raise BenchError(f"--zero-shot: {', '.join(without)} has no zero-shot form (it must train before it "
                         f"predicts anything meaningful); methods with one: {having}")
    return names


def _seeds(value: str) -> tuple[int, ...]:
    try:
        seeds = tuple(int(seed) for seed in _comma_list(value))
    except ValueError as error:
        raise BenchError(f"--seeds {value!r} must be comma-separated integers") from error
    if not seeds or any(seed < 0 for seed in seeds) or len(set(seeds)) != len(seeds):
        raise BenchError(f"--seeds {value!r} must list distinct non-negative integers, at least one")
    if max(seeds) >= 2**32:  # numpy's generators, which samplers seed, take 32 bits
        raise BenchError(f"--seeds {value!r}: a seed must be below 2**32 = 4294967296")
    return seeds


def _shots(value: str) -> str:
    if value in ("default", "full") or (value.isdigit() and int(value) > 0):
        return value
    raise BenchError(f"--shots {value!r} is not a positive number, 'full' or 'default'")


def _check_splits(tasks: tuple[TaskSpec, ...], choice: str) -> None:
    if choice not in ("default", "all") and not any(task.splits for task in tasks):
        names = ", ".join(task.name for task in tasks)
        raise BenchError(f"--split {choice}: none of the tasks ({names}) has official splits; drop --split")
    for task in tasks:
        task_splits(task, choice)


def _model(value: str | None, tasks: tuple[TaskSpec, ...]):
    from bench.core.models import DEFAULT_MODEL, resolve_model, with_fingerprint

    if value is None:
        value = "multilingual-e5-small" if any(task.language == "zh" for task in tasks) else DEFAULT_MODEL
    return with_fingerprint(resolve_model(value))


def _runtime(args: argparse.Namespace):
    """Where and in which precision the cells run, resolved here (a missing GPU or bf16 fails once):
    Ray cells asking for GPUs run on CUDA whatever the driver's machine has."""
    from bench.core.device import Device, Precision, Runtime

    if args.executor == "ray" and args.gpus_per_cell and args.device == Device.AUTO:
        return Runtime(Device.CUDA, Precision.FP32 if args.precision == Precision.FP32 else Precision.BF16)
    return Runtime.resolve(args.device, precision=args.precision)


def _comma_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def make_executor(args: argparse.Namespace, setup: PluginSetup):
    from bench.training.executors import ExecutorKind, InlineExecutor, LocalExecutor
    from bench.training.runner import WorkerSettings

    if args.cpus_per_cell is not None and args.cpus_per_cell < 1:
        raise BenchError("--cpus-per-cell must be at least 1")
    kind = ExecutorKind(args.executor)
    if kind != ExecutorKind.RAY and (args.ray_address or args.gpus_per_cell is not None or args.retries):
        raise BenchError("--ray-address, --gpus-per-cell and --retries apply to --executor ray only")
    if args.retries < 0:
        raise BenchError("--retries must be 0 or more")
    jobs = parse_jobs(args.jobs)
    if kind != ExecutorKind.LOCAL and jobs != 1:
        raise BenchError("--jobs applies to --executor local only (ray schedules by --cpus-per-cell)")
    if args.log_samples and kind == ExecutorKind.RAY:
        raise BenchError("--log-samples writes from each cell's own process into --out, which a Ray worker "
                         "may not see: use --executor local or inline")
    samples = str(Path(args.out).expanduser().resolve() / SAMPLES_DIR) if args.log_samples else None
    settings = WorkerSettings(threads=args.cpus_per_cell, samples_dir=samples)
    if kind == ExecutorKind.INLINE:
        return InlineExecutor(settings)
    if kind == ExecutorKind.LOCAL:
        return LocalExecutor(setup, settings, preload=WORKER_PRELOAD, jobs=jobs)
    from bench.training.ray_executor import RayExecutor

    return RayExecutor(setup, address=args.ray_address,
                       cpus_per_cell=args.cpus_per_cell or 1, gpus_per_cell=args.gpus_per_cell,
                       retries=args.retries)


def parse_jobs(value: str) -> int:
    """--jobs: a positive integer, or auto (one cell per core, as many as memory holds)."""
    from bench.training.executors import auto_jobs

    if value == "auto":
        return auto_jobs()
    try:
        jobs = int(value)
    except ValueError:
        jobs = 0
    if jobs < 1:
        raise BenchError(f"--jobs {value!r} is not a positive integer or 'auto': pass e.g. --jobs 2")
    return jobs


def cells_at_once(args: argparse.Namespace) -> int:
    """How many cells the run's executor trains side by side."""
    from bench.training.executors import ExecutorKind

    return parse_jobs(args.jobs) if ExecutorKind(args.executor) == ExecutorKind.LOCAL else 1


def machine_environment(args: argparse.Namespace, grid: Grid) -> tuple[str, str, str]:
    """(device, cpu, dtype) as this machine's records of the grid's cells would name them."""
    import torch

    from bench.core.environment import cpu_description
    from bench.training.executors import cell_threads

    threads = cell_threads(cells_at_once(args), args.cpus_per_cell)
    if threads:
        torch.set_num_threads(threads)  # the thread count the cells would run with names their device
    device = grid.runtime.choose()
    return device.name, cpu_description(), device.dtype_name


def stored_records(out: Path) -> list:
    from bench.core.store import ResultsStore

    return ResultsStore(out).latest() if (out / RESULTS_FILE).exists() else []


def machine_history(stored: list) -> list:
    """The cells this machine ran before (its cache's history) and those stored in --out."""
    from bench.core.models import cache_dir
    from bench.training.plan import load_history

    return [*load_history(cache_dir()), *stored]


def dry_run(args: argparse.Namespace, grid: Grid, jobs: list, out: Path) -> int:
    """Print the plan and its estimate; write nothing."""
    from bench.training.plan import describe_plan

    stored = stored_records(out)
    done = set() if args.rerun else {record.cell_id for record in stored if record.succeeded}
    for line in describe_plan(jobs, done, machine_history(stored), out=out, at_once=cells_at_once(args),
                              environment=machine_environment(args, grid)):
        print(line)
    return 0


def side_by_side_order(args: argparse.Namespace, grid: Grid, jobs: list, out: Path) -> list:
    """With several cells at once, the longest (by this machine's cost model, or the shipped prior
    per method where it has no history) start first."""
    from bench.training.plan import fit_costs, job_estimate, longest_first, prior_costs

    if cells_at_once(args) < 2:
        return jobs
    costs = fit_costs(machine_history(stored_records(out)))
    return longest_first(jobs, job_estimate(costs, machine_environment(args, grid), priors=prior_costs()))


def check_writable(out: Path) -> None:
    """The output folder can take records, found before the first cell trains (not after it): a block
    is written and synced there, so a disk that is already full is refused too."""
    import os

    if out.exists() and not out.is_dir():
        raise BenchError(f"--out {out} is a file: pass a folder")
    probe = out / f".petbench-write-check-{os.getpid()}"
    try:
        out.mkdir(parents=True, exist_ok=True)
        try:
            with open(probe, "wb") as stream:
                stream.write(bytes(4096))
                stream.flush()
                os.fsync(stream.fileno())
        finally:
            probe.unlink(missing_ok=True)
        results = out / RESULTS_FILE
        if results.exists():
            with open(results, "ab"):
                pass
    except OSError as error:
        raise BenchError(f"--out {out} is not writable ({error.strerror or error}): free space there or pass "
                         f"a folder you can write to") from error


def write_final_reports(out: Path, *, reference_files: Sequence[Path] = (), command: str = "") -> str | None:
    """The reports of a stored run (their Markdown), or None after one line on stderr when the disk
    refuses them (full, read-only): each file is replaced whole or left as it was, the records stay."""
    from reports import write_reports

    try:
        return write_reports(out, reference_files=reference_files, command=command)
    except OSError as error:
        print(f"error: could not write the reports in {out} ({error.strerror or error}); the stored records "
              f"are in {out / RESULTS_FILE}: free space, then run `run_bench.py report {out}`",
              file=sys.stderr)
        return None


def report_after_sweep(out: Path, *, reference_files: Sequence[Path], command: str) -> bool:
    """Print the final reports and where they are (nothing when no record was stored); False when the
    disk refused them."""
    from reports import CSV_FILE, HTML_FILE, REPORT_FILE
    from reports.latex import LATEX_FILE

    if not (out / RESULTS_FILE).exists():
        return True
    markdown = write_final_reports(out, reference_files=reference_files, command=command)
    if markdown is None:
        return False
    print(markdown)
    # report.tex holds tables of scores: a folder whose every cell failed has none, and gets no report.tex
    tables = [out / LATEX_FILE] if any(record.succeeded for record in stored_records(out)) else []
    *first, last = [out / CSV_FILE, out / REPORT_FILE, *tables, out / HTML_FILE]
    print(f"wrote {', '.join(str(path) for path in first)} and {last}")
    return True


def command_run(args: argparse.Namespace) -> int:
    from bench.core.data import resolve_data_dir
    from bench.core.store import ResultsStore
    from bench.training.sweep import plan_jobs, run_sweep
    from reports.live import LiveReport
    from reports.loggers import SweepContext, close_loggers, logger_names, open_loggers
    from reports.references import load_references

    grid, setup = build_grid(args)
    loggers = logger_names(args.log_to)
    reference_files = [Path(path) for path in args.references]
    load_references(reference_files)  # a bad file fails now, not after the cells
    out = Path(args.out).expanduser()
    if args.dry_run:
        return dry_run(args, grid, plan_jobs(grid, resolve_data_dir(args.data_dir)), out)
    check_writable(out)
    executor = make_executor(args, setup)
    jobs = side_by_side_order(args, grid, plan_jobs(grid, resolve_data_dir(args.data_dir)), out)
    command = getattr(args, "command_line", "")
    trackers = open_loggers(loggers, SweepContext.for_out(out))
    listeners = [*trackers, LiveReport(out, reference_files, command=command)]  # readable mid-sweep
    try:
        summary, _ = run_sweep(jobs, ResultsStore(out), executor, rerun=args.rerun, listeners=listeners)
    finally:
        close_loggers(trackers)
    reported = report_after_sweep(out, reference_files=reference_files, command=command)
    print(summary.line())
    return 1 if summary.failed or summary.unsaved or not reported else 0
