"""Running a spec: check everything, plan the cells, train those not done on the chosen executor,
hand each record to the sinks (the report among them) and return what a notebook can use: the
records and a DataFrame of them. `dry_run` plans and estimates without training or writing."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bench.core.errors import BenchError
from bench.core.store import RESULTS_FILE
from bench.session.spec import RunSpec

if TYPE_CHECKING:
    import pandas as pd

    from bench.core.records import CellResult
    from bench.core.sinks import SinkClosing


@dataclass(frozen=True)
class RunResult:
    """A finished run: its output folder, the records this run stored, the counts, and what each sink
    said when it closed (the report's Markdown and the files written)."""

    out: Path
    records: tuple[CellResult, ...]
    succeeded: int
    failed: int
    skipped: int
    unsaved: int = 0
    summary: str = ""
    closings: tuple[SinkClosing, ...] = field(default=())

    @property
    def ok(self) -> bool:
        """Every cell succeeded, every record was stored and every sink wrote what it owed."""
        return not self.failed and not self.unsaved and all(closing.ok for closing in self.closings)

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def frame(self) -> pd.DataFrame:
        """Every run stored in the output folder (this run's and earlier ones'), one row per run, as the
        reports count them: the newest record of each (configuration, seed, split)."""
        from reports.aggregate import cells_frame, latest_per_run

        records = stored_records(self.out)
        return latest_per_run(cells_frame(records)) if records else cells_frame([])


@dataclass(frozen=True)
class ResolvedRun:
    """A spec with everything checked: the grid, the plugin setup, the executor's entry and options,
    the sinks to open and the published results to read."""

    spec: RunSpec
    grid: object  # bench.training.cells.Grid
    setup: object  # bench.session.plugins.PluginSetup, run again in every worker process
    executor: object  # its bench.session.executors.ExecutorSpec
    options: object  # the executor's options (its own dataclass)
    sinks: tuple[str, ...]
    out: Path
    side_by_side: int = 1  # cells the executor trains at once on this machine

    @property
    def references(self) -> tuple[Path, ...]:
        return tuple(Path(path) for path in self.spec.references)


def resolve_run(spec: RunSpec) -> ResolvedRun:
    """Every input of the spec checked (one-line BenchErrors), nothing written."""
    from bench.core.sinks import sink_names
    from bench.session.executors import EXECUTORS, check_options
    from bench.session.grid import build_grid
    from bench.session.plugins import load_plugins, plugin_files
    from bench.session.protocols import with_protocol
    from reports.references import load_references
    from reports.sinks import ReportSink  # noqa: F401  (registers the built-in sinks)

    spec = with_protocol(spec)
    setup = load_plugins(plugin_files(spec.plugins))  # a plugin may register an executor, a sink, a renderer
    executor = EXECUTORS.get(spec.executor)
    check_options(spec.executor, dict(spec.executor_options))
    options = executor.make_options(dict(spec.executor_options))
    grid = build_grid(spec, gpus_elsewhere=executor.gpus_elsewhere(options))
    executor.require_available()
    if spec.cpus_per_cell is not None and spec.cpus_per_cell < 1:
        raise BenchError("--cpus-per-cell must be at least 1")
    if spec.log_samples is True and not executor.writes_out_dir:
        raise BenchError(f"--log-samples writes from each cell's own process into --out, which a "
                         f"{spec.executor} worker may not see: use --executor local or inline")
    sinks = sink_names(",".join(spec.log_to))
    load_references([Path(path) for path in spec.references])  # a bad file fails now, not after the cells
    return ResolvedRun(spec, grid, setup, executor, options, sinks, Path(spec.out).expanduser(),
                       executor.side_by_side(options))


def run(spec: RunSpec) -> RunResult:
    """Run the spec's grid: cells already done in its output folder are not trained again (unless
    `rerun`); each record is stored as it arrives and handed to the sinks; the reports are written once,
    when the run ends. Bad input raises BenchError (one line) before anything is written."""
    from bench.core.sinks import SinkContext, close_sinks, open_sinks
    from bench.core.store import ResultsStore
    from bench.training.sweep import run_sweep

    resolved = resolve_run(spec)
    jobs = planned_jobs(resolved)
    check_writable(resolved.out)
    executor = build_executor(resolved)
    jobs = side_by_side_order(resolved, jobs)
    context = SinkContext.for_out(resolved.out, reference_files=resolved.references, command=spec.command)
    opened = open_sinks(resolved.sinks, context)
    closings = []
    try:
        summary, records = run_sweep(jobs, ResultsStore(resolved.out), executor, rerun=spec.rerun,
                                     sinks=opened)
    finally:
        closings = close_sinks(opened)
    return RunResult(resolved.out, tuple(records), summary.succeeded, summary.failed, summary.skipped,
                     summary.unsaved, summary.line(), tuple(closings))


def dry_run(spec: RunSpec) -> list[str]:
    """The plan (cells, how many are done, the data and model) and its estimated wall time from this
    machine's earlier cells, as lines; nothing is trained or written."""
    from bench.training.plan import describe_plan

    resolved = resolve_run(spec)
    jobs = planned_jobs(resolved)
    stored = stored_records(resolved.out)
    done = set() if spec.rerun else {record.cell_id for record in stored if record.succeeded}
    return describe_plan(jobs, done, machine_history(stored), out=resolved.out, at_once=resolved.side_by_side,
                         environment=machine_environment(resolved))


def planned_jobs(resolved: ResolvedRun) -> list:
    from bench.core.data import resolve_data_dir
    from bench.training.sweep import plan_jobs

    return plan_jobs(resolved.grid, resolve_data_dir(resolved.spec.data_dir))


def build_executor(resolved: ResolvedRun):
    from bench.core.samples import SAMPLES_DIR
    from bench.session.executors import ExecutorContext

    logged = resolved.spec.log_samples
    logged = resolved.executor.writes_out_dir if logged is None else logged
    samples = str(resolved.out.resolve() / SAMPLES_DIR) if logged else None
    context = ExecutorContext(resolved.setup, threads=resolved.spec.cpus_per_cell, samples_dir=samples)
    return resolved.executor.build(resolved.options, context)


def stored_records(out: Path) -> list:
    from bench.core.store import ResultsStore

    return ResultsStore(out).latest() if (out / RESULTS_FILE).exists() else []


def machine_history(stored: list) -> list:
    """The cells this machine ran before (its cache's history) and those stored in the output folder."""
    from bench.core.models import cache_dir
    from bench.training.plan import load_history

    return [*load_history(cache_dir()), *stored]


def machine_environment(resolved: ResolvedRun) -> tuple[str, str, str]:
    """(device, cpu, dtype) as this machine's records of the grid's cells would name them."""
    import torch

    from bench.core.environment import cpu_description
    from bench.training.executors import cell_threads

    threads = cell_threads(resolved.side_by_side, resolved.spec.cpus_per_cell)
    if threads:
        torch.set_num_threads(threads)  # the thread count the cells would run with names their device
    device = resolved.grid.runtime.choose()
    return device.name, cpu_description(), device.dtype_name


def side_by_side_order(resolved: ResolvedRun, jobs: list) -> list:
    """With several cells at once, the longest (by this machine's cost model, or the shipped prior per
    method where it has no history) start first."""
    from bench.training.plan import fit_costs, job_estimate, longest_first, prior_costs

    if resolved.side_by_side < 2:
        return jobs
    costs = fit_costs(machine_history(stored_records(resolved.out)))
    return longest_first(jobs, job_estimate(costs, machine_environment(resolved), priors=prior_costs()))


def check_writable(out: Path) -> None:
    """The output folder can take records, found before the first cell trains (not after it): a block
    is written and synced there, so a disk that is already full is refused too."""
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
