"""The registry of executors: where a run's cells train. Each entry carries its own options (a frozen
dataclass of knobs, offered as command-line options), its rules (how many cells it trains side by
side, whether its cells can write into the output folder, whether they reserve GPUs elsewhere) and
how to build it. The built-ins are local, inline and ray; a Slurm executor would be one plugin file
calling `register_executor`. Nothing here imports torch: the command line reads it before any numeric
library loads."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bench.core.errors import BenchError
from bench.core.extras import require
from bench.core.knobs import check_range, knob, knob_types, parse_knob_value
from bench.core.registry import Registry


@dataclass(frozen=True)
class ExecutorContext:
    """What every executor is built with: the plugin setup each worker process runs, the CPU threads
    per cell (None: the executor's default) and where cells write their samples (None: nowhere)."""

    setup: Callable[[], None]
    threads: int | None = None
    samples_dir: str | None = None


@dataclass(frozen=True)
class NoOptions:
    """An executor without options of its own."""


@dataclass(frozen=True)
class ExecutorSpec:
    name: str
    help: str
    build: Callable[[Any, ExecutorContext], Any]  # (options, context) -> an Executor
    options: type = NoOptions
    side_by_side: Callable[[Any], int] = lambda options: 1  # cells trained at once on this machine
    writes_out_dir: bool = True  # cells' processes can write into --out (their samples files)
    gpus_elsewhere: Callable[[Any], bool] = lambda options: False  # cells reserve GPUs on other machines
    requires: tuple[str, ...] = ()
    extra: str = ""

    def make_options(self, given: Mapping[str, Any]) -> Any:
        """The options from their given values (text or typed); a bad value is a one-line error naming
        its option, an option of another executor is refused by `check_options`."""
        types = knob_types(self.options)
        fields = {field.name: field for field in dataclasses.fields(self.options)}
        values = {}
        for name, value in given.items():
            flag = option_flag(name)
            if name not in fields:
                raise BenchError(f"{flag} is not an option of --executor {self.name} (its options: "
                                 f"{', '.join(option_flag(field) for field in fields) or 'none'})")
            try:
                values[name] = parse_knob_value("option", name, value, types[name])
            except BenchError as error:
                raise BenchError(f"{flag} {value!r}: {error}") from error
            check_range(fields[name], values[name], flag)
        return self.options(**values)

    def require_available(self) -> None:
        require(self.requires, extra=self.extra or self.name, what=f"--executor {self.name}")


EXECUTORS: Registry[ExecutorSpec] = Registry("executor")


def register_executor(name: str, *, help: str, options: type = NoOptions,
                      side_by_side: Callable[[Any], int] | None = None, writes_out_dir: bool = True,
                      gpus_elsewhere: Callable[[Any], bool] | None = None, requires: tuple[str, ...] = (),
                      extra: str = ""):
    """Decorator: register build(options, context) -> Executor (an object with run(jobs, on_record))."""

    def register(build: Callable[[Any, ExecutorContext], Any]):
        EXECUTORS.add(name, ExecutorSpec(name, help, build, options, side_by_side or (lambda options: 1),
                                         writes_out_dir, gpus_elsewhere or (lambda options: False), requires,
                                         extra))
        return build

    return register


def option_flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def check_options(chosen: str, given: Mapping[str, Any]) -> None:
    """Every given option belongs to the chosen executor: one of another executor names it."""
    own = {field.name for field in dataclasses.fields(EXECUTORS.get(chosen).options)}
    for name in given:
        if name in own:
            continue
        owners = [entry for entry in EXECUTORS if name in {field.name for field in
                                                             dataclasses.fields(EXECUTORS.get(entry).options)}]
        if not owners:
            listed = ", ".join(option_flag(option) for option in sorted(own)) or "none"
            raise BenchError(f"{option_flag(name)} is not an option of --executor {chosen} (its options: "
                             f"{listed})")
        raise BenchError(f"{option_flag(name)} is an option of --executor {owners[0]}; its options apply to "
                         f"--executor {owners[0]} only (this run uses --executor {chosen})")


# --- the built-in executors -------------------------------------------------------------------------


@dataclass(frozen=True)
class LocalOptions:
    jobs: str = knob("1", "local: cells run at once, each in its own process with its share of the cores (an "
                          "integer, or 'auto': one per core while memory allows); records say how many "
                          "shared the machine")

    def __post_init__(self) -> None:
        cells_side_by_side(self.jobs)


def cells_side_by_side(jobs: str) -> int:
    """--jobs: a positive integer, or auto (one cell per core, as many as memory holds)."""
    if jobs == "auto":
        from bench.training.executors import auto_jobs

        return auto_jobs()
    try:
        count = int(jobs)
    except ValueError:
        count = 0
    if count < 1:
        raise BenchError(f"--jobs {jobs!r} is not a positive integer or 'auto': pass e.g. --jobs 2")
    return count


@register_executor("local", options=LocalOptions,
                   side_by_side=lambda options: cells_side_by_side(options.jobs),
                   help="each cell in a fresh child process, --jobs at a time (the default)")
def build_local(options: LocalOptions, context: ExecutorContext):
    from bench.session.plugins import WORKER_PRELOAD
    from bench.training.executors import LocalExecutor
    from bench.training.runner import WorkerSettings

    settings = WorkerSettings(threads=context.threads, samples_dir=context.samples_dir)
    return LocalExecutor(context.setup, settings, preload=WORKER_PRELOAD,
                         jobs=cells_side_by_side(options.jobs))


@register_executor("inline", help="each cell in this process, one at a time (debugging; the memory figures "
                                  "share this process)")
def build_inline(options: NoOptions, context: ExecutorContext):
    from bench.training.executors import InlineExecutor
    from bench.training.runner import WorkerSettings

    return InlineExecutor(WorkerSettings(threads=context.threads, samples_dir=context.samples_dir))


@dataclass(frozen=True)
class RayOptions:
    ray_address: str | None = knob(None, "ray: 'auto' or HOST:PORT of a running cluster (default: start a "
                                         "local one)")
    gpus_per_cell: float | None = knob(None, "ray: GPUs each cell reserves (default 1 when the cluster has "
                                             "GPUs, else 0)", at_least=0)
    retries: int = knob(0, "ray: retry a cell whose worker died (out of memory, node lost) this many times",
                        at_least=0)


@register_executor("ray", options=RayOptions, writes_out_dir=False, requires=("ray",), extra="ray",
                   gpus_elsewhere=lambda options: bool(options.gpus_per_cell),
                   help="Ray tasks on a local or remote cluster")
def build_ray(options: RayOptions, context: ExecutorContext):
    from bench.training.ray_executor import RayExecutor

    return RayExecutor(context.setup, address=options.ray_address, cpus_per_cell=context.threads or 1,
                       gpus_per_cell=options.gpus_per_cell, retries=options.retries)
